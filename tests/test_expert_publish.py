"""Experts are Hub models: `hfprobe experts push` (and `train --push`) upload the expert folder with a model card
built from the experts' configs; `--experts ORG/NAME` loads them back through the Hugging Face cache. Round trips
through the test Hub on 127.0.0.1 (tests/fakehub.py + fakehub_write.py), one expert and a folder of them."""

from __future__ import annotations

import json

import pytest
import torch

from hfprobe.cli import main
from hfprobe.errors import ExpertError
from hfprobe.experts.expert import Expert
from hfprobe.experts.probes import TrainConfig, build_model
from hfprobe.experts.publish import expert_card, load_experts_from, push_expert, push_experts

WRITE = "hf_WriteTokenForExpertTests1"


def make_expert(
    name: str,
    root: str,
    *,
    labels=("dog", "cat", "bird"),
    head="multilabel",
    seed=0,
    layer="vit.layers.0.attention.q_proj",
    shape=(8, 6),
    family="vit",
) -> Expert:
    """A small untrained expert with a full config (what `hfprobe train` writes, metrics included)."""
    torch.manual_seed(seed)
    cfg = TrainConfig(head=head, r_U=4, r_V=4, r_T=4)
    text = {"id": "minilm", "dim": 384, "prompt": "a photo of a {}"} if head == "text" else None
    n_classes = len(labels) if head == "multilabel" else None
    model = build_model(cfg, *shape, n_classes=n_classes, text_dim=384 if text else None)
    config = {
        "name": name,
        "tree": name,
        "root": root,
        "family": family,
        "layer": layer,
        "shape": list(shape),
        "labels": list(labels),
        "head": head,
        "text_encoder": text,
        "train": cfg.to_dict(),
        "sizes": {"r_U": 4, "r_V": 4, "r_T": 4, "views": []},
        "metrics": {
            "metric": "elementwise_accuracy" if head == "multilabel" else "top1",
            "val": 0.81,
            "test": 0.77,
            "n_train": 12,
            "n_val": 2,
            "n_test": 3,
            **({"chance": 0.56} if head == "multilabel" else {"zero_shot_test": 0.4, "zero_shot_chance": 0.25}),
        },
        "routing": {"threshold": 1.0, "spread": 0.1, "metric": "rms"},
        "zoo_hash": "77f153dc5914a0b2",
    }
    emb = torch.nn.functional.normalize(torch.randn(len(labels), 384), dim=1) if text else None
    return Expert(model, config, emb)


@pytest.fixture()
def hub(tmp_path):
    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    hub = FakeHub(tmp_path / "hub")
    install_write(hub)
    hub.tokens = {WRITE: "write", "hf_ReadTokenForExpertTests12": "read"}
    with hub.serving():
        yield hub


@pytest.fixture()
def experts_dir(tmp_path):
    folder = tmp_path / "experts"
    make_expert("vit-a", "google/vit-base-patch16-224").save(folder / "vit-a")
    make_expert("vit-b", "google/vit-base-patch16-224", labels=("boat", "car"), seed=1).save(folder / "vit-b")
    return folder


def _card_meta(text: str) -> dict:
    from huggingface_hub import ModelCard

    return ModelCard(text).data.to_dict()


def test_card_of_one_expert():
    exp = make_expert("vit-a", "google/vit-base-patch16-224")
    card = expert_card({"": dict(exp.config, version="0.1.0")}, "me/vit-expert")
    meta = _card_meta(str(card))
    assert meta["library_name"] == "hfprobe" and meta["base_model"] == "google/vit-base-patch16-224"
    assert {"hfprobe", "probex", "vit"} <= set(meta["tags"])
    [facts] = meta["hfprobe"]["experts"]
    assert facts["layer"] == "vit.layers.0.attention.q_proj" and facts["labels"] == ["dog", "cat", "bird"]
    assert facts["metrics"]["test"] == 0.77 and facts["metrics"]["chance"] == 0.56
    assert facts["zoo_hash"] == "77f153dc5914a0b2"
    body = card.text
    assert "| elementwise_accuracy | 0.810 | 0.770 | 0.560 | n/a | n/a |" in body
    assert "hfprobe predict org/some-model --experts me/vit-expert" in body
    assert "zoo `77f153dc5914a0b2`" in body and "dog, cat, bird" in body


def test_card_never_names_a_root_the_hub_does_not_have():
    """The offline zoo's roots exist nowhere on the Hub; several roots would read as a merge: no base_model."""
    zoo = make_expert("vit-fmnist-a", "hfprobe-zoo/vit-fmnist-a-root").config
    meta = _card_meta(str(expert_card({"": zoo}, "me/x")))
    assert "base_model" not in meta
    two = {"a": zoo, "b": make_expert("b", "google/vit-base-patch16-224").config}
    meta = _card_meta(str(expert_card(two, "me/x")))
    assert "base_model" not in meta and len(meta["hfprobe"]["experts"]) == 2
    text = make_expert("t", "sentence-transformers/all-MiniLM-L6-v2", head="text").config
    card = expert_card({"": text}, "me/t")
    # a text head's chance is exact (1 / labels); the zero-shot figures are reported beside their own chance
    assert "| top1 | 0.810 | 0.770 | 0.333 | 0.400 | 0.250 |" in card.text


def test_push_one_expert_and_load_it_back(hub, tmp_path):
    exp = make_expert("vit-a", "google/vit-base-patch16-224")
    url = push_expert(exp, "tester/vit-expert", token=WRITE)
    assert "/tester/vit-expert/commit/" in url
    assert sorted(hub.files("tester/vit-expert")) == ["README.md", "expert.json", "expert.safetensors"]
    assert len([c for c in hub.commits if c[0] == "tester/vit-expert"]) == 1  # one commit
    meta = _card_meta((hub.repo_dir("tester/vit-expert") / "README.md").read_text())
    assert meta["library_name"] == "hfprobe" and meta["base_model"] == "google/vit-base-patch16-224"
    [back] = load_experts_from("tester/vit-expert")
    assert back.config["labels"] == exp.config["labels"] and back.layer == exp.layer
    sa, sb = exp.model.state_dict(), back.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_push_a_folder_of_experts_and_load_them_back_through_the_cache(hub, experts_dir, capsys):
    assert main(["experts", "push", str(experts_dir), "tester/zoo-experts", "--token", WRITE, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["repo"] == "tester/zoo-experts" and "/commit/" in out["commit"]
    assert sorted(hub.files("tester/zoo-experts")) == [
        "README.md",
        "vit-a/expert.json",
        "vit-a/expert.safetensors",
        "vit-b/expert.json",
        "vit-b/expert.safetensors",
    ]
    meta = _card_meta((hub.repo_dir("tester/zoo-experts") / "README.md").read_text())
    assert meta["base_model"] == "google/vit-base-patch16-224"  # both experts read the same tree
    assert [e["folder"] for e in meta["hfprobe"]["experts"]] == ["vit-a", "vit-b"]
    experts = load_experts_from("tester/zoo-experts")
    assert [e.name for e in experts] == ["vit-a", "vit-b"]
    assert experts[1].config["labels"] == ["boat", "car"]
    for spec in ("hf://tester/zoo-experts", f"{hub.endpoint}/tester/zoo-experts/tree/main"):  # the one grammar
        assert [e.name for e in load_experts_from(spec)] == ["vit-a", "vit-b"]
    with pytest.raises(ExpertError, match="names a file or folder inside tester/zoo-experts; name the expert repo"):
        load_experts_from("hf://tester/zoo-experts/vit-a")
    # a second push without vit-b removes its files in the same single commit
    n = len(hub.commits)
    push_experts(experts_dir, "tester/zoo-experts", trees=["vit-a"], token=WRITE)
    assert len(hub.commits) == n + 1
    assert sorted(hub.files("tester/zoo-experts")) == ["README.md", "vit-a/expert.json", "vit-a/expert.safetensors"]


def test_loaded_back_from_the_cache_with_the_hub_gone(tmp_path, experts_dir, monkeypatch):
    from huggingface_hub import constants

    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    hub = FakeHub(tmp_path / "hub2")
    install_write(hub)
    hub.tokens = {WRITE: "write"}
    with hub.serving() as endpoint:
        push_experts(experts_dir, "tester/cached-experts", token=WRITE)
        first = [e.name for e in load_experts_from("tester/cached-experts")]
    # the server is gone (its port refuses connections): the snapshot in the Hugging Face cache answers
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    again = [e.name for e in load_experts_from("tester/cached-experts")]
    assert first == again == ["vit-a", "vit-b"]


@pytest.mark.parametrize(
    "method, read",
    [
        ("GET", "/revision/"),  # load: the commit the snapshot is taken at
        ("GET", "/tree/"),  # load: the listing; push: the files already there
        ("GET", "/expert.safetensors"),  # load: a file
        ("GET", "/README.md"),  # push: whether the card there is ours
        ("POST", "/api/repos/create"),  # push: the repo, made or found (asked again, it is found)
    ],
)
def test_push_and_load_outlive_the_shared_client_being_closed(hub, experts_dir, method, read):
    """A connect error in any thread makes huggingface_hub close the client every thread shares, under every
    request in flight: a Space loading its experts beside its visitors' reads, a batch. The reads of `experts push`
    and of loading experts from the Hub are retried as hfprobe's own reads are; the commit is made once."""
    from tests.hub.faults import close_client_under

    repo = f"tester/shared-{method}-{read.strip('/').replace('/', '-')}"  # its own: none of it in the cache
    push_experts(experts_dir, repo, trees=["vit-a"], token=WRITE)
    commits = len(hub.commits)
    closed = close_client_under(hub, method, lambda path: read in path)
    push_experts(experts_dir, repo, token=WRITE)  # adds vit-b: the card and the listing are read
    assert [e.name for e in load_experts_from(repo)] == ["vit-a", "vit-b"]
    assert closed and len(hub.commits) == commits + 1


def test_push_refusals(hub, tmp_path, experts_dir, capsys):
    assert main(["experts", "push", str(tmp_path / "nothing"), "tester/x", "--token", WRITE]) == 2
    assert "no expert here" in capsys.readouterr().err
    assert main(["experts", "push", str(experts_dir), "not a repo", "--token", WRITE]) == 2
    assert "not a Hub repo id" in capsys.readouterr().err
    assert main(["experts", "push", str(experts_dir), "tester/x", "--token", "hf_ReadTokenForExpertTests12"]) == 2
    err = capsys.readouterr().err
    assert "hf_Read" not in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad" / "vit-a"
    bad.mkdir(parents=True)
    (bad / "expert.json").write_text("{}")
    assert main(["experts", "push", str(bad.parent), "tester/x", "--token", WRITE]) == 2
    assert "expert.safetensors is missing" in capsys.readouterr().err
    assert not hub.files("tester/x")  # nothing half-written


def test_a_card_someone_wrote_is_kept(hub, experts_dir):
    hub.add_repo("tester/kept", {"README.md": "# My experts\nNotes I wrote.\n"})
    push_experts(experts_dir, "tester/kept", token=WRITE)
    assert (hub.repo_dir("tester/kept") / "README.md").read_text() == "# My experts\nNotes I wrote.\n"
    assert "vit-a/expert.json" in hub.files("tester/kept")


def test_dry_run_prints_the_card(experts_dir, capsys):
    assert main(["experts", "push", str(experts_dir), "me/zoo-experts", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("---\n") and "library_name: hfprobe" in out and "| vit-b |" in out


def test_train_push_publishes_the_trained_expert(zoo, hub, tmp_path, capsys):
    layer = "vit.layers.1.attention.v_proj"
    args = ["train", "--zoo", str(zoo), "--tree", "vit-fmnist-a", "--layers", layer, "--rank", "8", "--epochs", "3"]
    assert (
        main([*args, "--out", str(tmp_path / "e"), "-q", "--json", "--push", "tester/trained", "--token", WRITE]) == 0
    )
    row = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert "/tester/trained/commit/" in row["pushed"]
    meta = _card_meta((hub.repo_dir("tester/trained") / "README.md").read_text())
    [facts] = meta["hfprobe"]["experts"]
    assert facts["layer"] == layer and facts["root"] == row["root"] and facts["metrics"]["val"] == row["val"]
    assert "base_model" not in meta  # the test zoo's root is built offline, not a Hub model
    [back] = load_experts_from("tester/trained")
    assert back.config["labels"] == json.loads((tmp_path / "e" / "expert.json").read_text())["labels"]
