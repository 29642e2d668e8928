"""The Space: the Gradio app that puts inspect, predict, search and the card pull request on a web page.

Owns: the app (app.py: the page layout and its wiring; endpoints.py: the work behind each endpoint; guard.py:
input checks, time limit and clean error lines) and `python -m hfprobe.space` to run it locally. It is a public
service: it accepts Hub repos and uploads only, and it answers every bad input with a `gr.Error` (see
docs/space.md).
May import: every stage below it (source ... search) and hfprobe.config / hfprobe.errors. Needs the
`space` extra (gradio); `hfprobe.deploy` (which pushes it to a Space repo) does not import it.

    >>> from hfprobe.space.app import create_app          # doctest: +SKIP
    >>> create_app(index_dir="index").launch()             # doctest: +SKIP
"""
