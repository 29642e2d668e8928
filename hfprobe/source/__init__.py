"""Stage 1, source: where bytes come from. A local file, a local folder or a Hub repo, read only as far
as needed, every byte counted; and the safetensors container read from any of them.

One spec syntax, parsed in `resolve` and nowhere else:

    ./adapter_model.safetensors        a local file (its folder's companions, e.g. adapter_config.json, are readable)
    ./my-lora/                         a local folder
    org/name  |  org/name@revision     a Hub model repo
    hf://org/name[@revision]/path      one file or folder in a Hub repo
    https://huggingface.co/org/name[/tree/revision[/folder]]   a Hub URL (also HF_ENDPOINT's own)

A Hub source reads one commit: `Source.revision_sha`, named by its first (listing) request.

Owns: `resolve` (resolve.py), `Source` (source.py), local files (local.py), the Hub: listing, downloads, offline
caches and the mapping of huggingface_hub errors to ours (hub.py), HTTP with timeouts, retries and bounded
replies (transport.py), ranged reads of a remote file and their offline cache (ranged.py), the safetensors header
and tensor reader (safetensors.py), GGUF headers (gguf.py), ONNX models' tensors and nodes (onnx.py), OpenVINO
IR graphs (openvino.py).
May import: hfprobe.errors, hfprobe.config and third-party libraries only. See docs/source.md.

    >>> from hfprobe.source import resolve
    >>> src = resolve("org/name@v1")
    >>> src.kind, src.repo_id, src.revision
    ('hub', 'org/name', 'v1')
"""

from .resolve import resolve
from .source import Source

__all__ = ["Source", "resolve"]
