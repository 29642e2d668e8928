"""ProbeX, training and experts on synthetic weight zoos (see probex_synth.py): fast, no real networks."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from hfprobe.errors import ExpertError, TextEncoderError
from hfprobe.experts.expert import Expert, fingerprint
from hfprobe.experts.fit import sweep_layers, train_expert
from hfprobe.experts.probes import HEAD_DEFAULTS, ProbeX, TrainConfig, n_params
from hfprobe.experts.publish import push_expert
from hfprobe.experts.train import LOSS_MIN_DELTA, ZeroShotVal, evaluate, train_probe
from tests.probex_synth import multilabel_tree, text_tree

torch.set_num_threads(1)
SMALL = dict(r_U=16, r_V=16, r_T=16, max_epochs=60, patience=15)
NAMES = [
    "dog",
    "cat",
    "airplane",
    "car",
    "apple",
    "banana",
    "guitar",
    "piano",
    "ship",
    "truck",
    "horse",
    "bird",
    "tree",
    "flower",
    "house",
    "bridge",
    "shoe",
    "hat",
    "clock",
    "phone",
    "chair",
    "lamp",
    "river",
    "mountain",
]


def split(X, Y, a, b):
    return X[:a], Y[:a], X[a:b], Y[a:b], X[b:], Y[b:]


@pytest.fixture(scope="session")
def ml_data():
    X, Y = multilabel_tree(220, seed=0, strength=0.06, noise=0.05)
    return split(X, Y, 140, 180)


@pytest.fixture(scope="session")
def ml_expert(ml_data):
    Xtr, Ytr, Xva, Yva, Xte, Yte = ml_data
    cfg = TrainConfig(**SMALL)
    return train_expert(
        Xtr,
        Ytr,
        Xva,
        Yva,
        labels=[f"c{i}" for i in range(6)],
        cfg=cfg,
        root="synth/root-a",
        family="synth",
        layer="blocks.0.attn.q",
        Xte=Xte,
        Yte=Yte,
        zoo_hash="abc",
        progress=False,
    )


def test_architecture_shapes_and_sizes():
    m = ProbeX(768, 768, r_U=128, r_V=128, r_T=128, head="multilabel", n_classes=100)
    # paper: about 2.3M parameters on a 768x768 layer at r=128
    assert 2.0e6 < n_params(m) < 2.6e6
    assert m(torch.randn(2, 768, 768)).shape == (2, 100)
    t = ProbeX(40, 30, r_U=4, r_V=5, r_T=6, head="text", text_dim=12)
    out = t(torch.randn(3, 40, 30), torch.randn(7, 12))
    assert out.shape == (3, 7) and out.abs().max() <= 1.0 + 1e-5  # cosine logits, no temperature
    g = ProbeX(40, 30, r_U=4, r_V=5, r_T=6, n_classes=3, views=("gram",))
    g.fit_input(torch.randn(10, 40, 30))
    assert g(torch.randn(3, 40, 30)).shape == (3, 3)
    with pytest.raises(ValueError):
        m(torch.randn(2, 768, 767))


def test_probex_learns_multilabel(ml_expert, ml_data):
    m = ml_expert.config["metrics"]
    assert m["metric"] == "elementwise_accuracy"
    assert m["val"] >= 0.8 and m["test"] >= 0.8, m  # chance is 0.5
    # a model with untrained weights sits near chance: the figure above is learned, not structural
    Xtr, Ytr, Xva, Yva, Xte, Yte = ml_data
    untrained = ProbeX(*Xtr.shape[1:], **{k: SMALL[k] for k in ("r_U", "r_V", "r_T")}, n_classes=6)
    untrained.fit_input(Xtr)
    assert evaluate(untrained, Xte, Yte, "multilabel") < 0.7


def test_gram_view_and_dense_train(ml_data):
    Xtr, Ytr, Xva, Yva, Xte, Yte = ml_data
    for extra in ({"views": ("gram",)}, {"kind": "dense"}):
        res = train_probe(Xtr, Ytr, Xva, Yva, TrainConfig(**{**SMALL, "max_epochs": 30}, **extra), progress=False)
        assert res.best_val > 0.7, extra


def test_seed_reproducible(ml_data):
    Xtr, Ytr, Xva, Yva, _, _ = ml_data
    cfg = TrainConfig(**{**SMALL, "max_epochs": 3})
    a = train_probe(Xtr, Ytr, Xva, Yva, cfg, progress=False).model.state_dict()
    b = train_probe(Xtr, Ytr, Xva, Yva, cfg, progress=False).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_layer_sweep_picks_the_informative_layer(ml_data):
    Xtr, Ytr, Xva, Yva, _, _ = ml_data
    g = torch.Generator().manual_seed(5)
    noise_tr, noise_va = torch.randn(Xtr.shape, generator=g), torch.randn(Xva.shape, generator=g)
    layers = {"noise.layer": (noise_tr, noise_va), "signal.layer": (Xtr, Xva)}
    best, results, scores = sweep_layers(layers, Ytr, Yva, TrainConfig(**{**SMALL, "max_epochs": 30}), progress=False)
    assert best == "signal.layer" and scores["signal.layer"] > scores["noise.layer"] + 0.15


def test_save_load_bit_exact(ml_expert, ml_data, tmp_path):
    folder = ml_expert.save(tmp_path / "exp")
    assert sorted(p.name for p in folder.iterdir()) == ["expert.json", "expert.safetensors"]
    cfg = json.loads((folder / "expert.json").read_text())
    for key in (
        "root",
        "layer",
        "shape",
        "labels",
        "text_encoder",
        "sizes",
        "metrics",
        "zoo_hash",
        "version",
        "routing",
    ):
        assert key in cfg
    assert set(cfg["sizes"]) == {"r_U", "r_V", "r_T", "views", "params"}
    back = Expert.load(folder)
    sa, sb = ml_expert.model.state_dict(), back.model.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    X = ml_data[4]
    assert torch.equal(ml_expert.model(X), back.model(X))
    # saving the loaded expert again gives byte-identical tensors
    again = back.save(tmp_path / "exp2")
    ta, tb = load_file(folder / "expert.safetensors"), load_file(again / "expert.safetensors")
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_bad_expert_folders(ml_expert, tmp_path):
    folder = ml_expert.save(tmp_path / "exp")
    (folder / "expert.safetensors").unlink()
    with pytest.raises(ExpertError, match="expert.safetensors is missing"):
        Expert.load(folder)
    folder = ml_expert.save(tmp_path / "exp")
    cfg = json.loads((folder / "expert.json").read_text())
    cfg["labels"] = cfg["labels"][:-1] + ["other"]
    (folder / "expert.json").write_text(json.dumps(cfg))
    with pytest.raises(ExpertError, match="do not belong together"):
        Expert.load(folder)
    (folder / "expert.json").write_text("{not json")
    with pytest.raises(ExpertError, match="not valid JSON"):
        Expert.load(folder)
    with pytest.raises(ExpertError, match="expects"):
        ml_expert.check_layer(torch.zeros(24, 17))


def test_an_expert_s_tensors_load_on_first_use(ml_expert, tmp_path):
    """`Expert.load` checks the config and the weights' header (the fingerprint, and that the tensors cover the
    file); the tensors are built into the probe when the expert is first used, so a router passing over experts of
    other families reads their JSON and headers only. A tensor that does not fit the probe is then one typed error."""
    from safetensors.torch import save_file

    folder = ml_expert.save(tmp_path / "exp")
    weights = folder / "expert.safetensors"
    header_len = 8 + int.from_bytes(weights.read_bytes()[:8], "little")
    whole = weights.read_bytes()
    weights.write_bytes(whole[: header_len + 16])  # the header intact, the tensors cut short
    with pytest.raises(ExpertError, match="expert.safetensors: cannot read"):
        Expert.load(folder)
    weights.write_bytes(whole)
    meta = {"format": "hfprobe-expert/1", "fingerprint": fingerprint(Expert.load(folder).config)}
    save_file({"model.mean": torch.zeros(3, 3)}, str(weights), metadata=meta)  # the right label, other tensors
    lazy = Expert.load(folder)
    assert lazy.config["labels"] == ml_expert.config["labels"] and lazy._model is None
    with pytest.raises(ExpertError, match="tensors do not match the architecture"):
        _ = lazy.model


@pytest.fixture(scope="session")
def text_setup():
    from hfprobe.text.encoders import get_text_encoder

    enc = get_text_encoder("minilm")
    E = enc.embed_labels(NAMES)
    seen, unseen = list(range(18)), list(range(18, 24))
    idx_tr, idx_va, idx_te = torch.tensor(seen * 6), torch.tensor(seen * 2), torch.tensor(unseen * 4)
    data = (text_tree(E, idx_tr, k=16), idx_tr, text_tree(E, idx_va, k=16), idx_va, text_tree(E, idx_te, k=16), idx_te)
    cfg = TrainConfig(head="text", r_U=16, r_V=16, r_T=32, max_epochs=120, patience=30, dropout=0.2)
    exp = train_expert(
        data[0],
        data[1],
        data[2],
        data[3],
        labels=NAMES[:18],
        cfg=cfg,
        root="synth/sd",
        family="synth",
        layer="unet.x.attn2.to_q",
        text_encoder=enc,
        progress=False,
    )
    return enc, E, seen, unseen, data, exp


def test_text_head_and_zero_shot(text_setup):
    enc, E, seen, unseen, (Xtr, ytr, Xva, yva, Xte, yte), exp = text_setup
    assert exp.config["text_encoder"] == {"id": "minilm", "dim": 384, "prompt": "a photo of a {}"}
    assert exp.config["metrics"]["val"] >= 0.5  # in-distribution top-1, chance 1/18
    zs = evaluate(exp.model, Xte, yte - len(seen), "text", E[unseen])
    chance = 1 / len(unseen)
    assert zs >= 2 * chance, zs


def test_zero_shot_validation_takes_part_in_the_choice(text_setup):
    """With held-out validation models, checkpoint and layer are chosen on mean(in-dist val, zero-shot val)."""
    enc, E, seen, unseen, (Xtr, ytr, Xva, yva, Xte, yte), _ = text_setup
    hold = yte - len(seen)  # 6 unseen categories: 3 for zero-shot validation, 3 left unused here
    pick = hold < 3
    zsv = ZeroShotVal(Xte[pick], hold[pick], E[unseen[:3]])
    cfg = TrainConfig(head="text", r_U=16, r_V=16, r_T=32, max_epochs=40, patience=40, dropout=0.2)
    res = train_probe(Xtr, ytr, Xva, yva, cfg, text_emb=E[seen], progress=False, zero_shot=zsv)
    rows = res.history
    assert all("zero_shot_val" in r for r in rows)
    chosen = rows[res.best_epoch]
    assert res.best_val == chosen["val"] and res.best_zero_shot_val == chosen["zero_shot_val"]
    assert res.score == pytest.approx((chosen["val"] + chosen["zero_shot_val"]) / 2)
    assert res.score == pytest.approx(max((r["val"] + r["zero_shot_val"]) / 2 for r in rows))
    assert res.best_zero_shot_val == pytest.approx(evaluate(res.model, zsv.X, zsv.y, "text", zsv.text_emb))
    # the sweep ranks layers on the same score
    noise = torch.randn(Xtr.shape, generator=torch.Generator().manual_seed(1))
    layers = {"noise": (noise, torch.randn(Xva.shape)), "signal": (Xtr, Xva)}
    zs = {"noise": ZeroShotVal(torch.randn(zsv.X.shape), zsv.y, zsv.text_emb), "signal": zsv}
    best, results, scores = sweep_layers(layers, ytr, yva, cfg, text_emb=E[seen], progress=False, zero_shot=zs)
    assert best == "signal" and scores == {n: r.score for n, r in results.items()}


def test_mismatched_text_space_refused(text_setup, ml_expert):
    enc, *_, exp = text_setup

    class Other:
        id, dim = "clip-vit-l-14", 768

    exp.check_text_space(enc)
    with pytest.raises(TextEncoderError, match="trained in text space minilm"):
        exp.check_text_space(Other())
    with pytest.raises(ExpertError, match="classification head"):
        ml_expert.check_text_space(enc)


def test_push_and_load_from_hub(ml_expert, tmp_path):
    from tests.fakehub import FakeHub
    from tests.fakehub_write import install_write

    hub = FakeHub(tmp_path / "hub")
    install_write(hub)
    hub.tokens = {"w": "write"}

    def create(req):  # the repo-creation route the write helper does not serve
        name = json.loads(req.body)["name"]
        org = json.loads(req.body).get("organization") or "tester"
        (hub.root / org / name).mkdir(parents=True, exist_ok=True)
        return 200, {}, {"url": f"{hub.endpoint}/{org}/{name}", "name": f"{org}/{name}"}

    hub.route("POST", r"/api/repos/create", create)
    with hub.serving():
        push_expert(ml_expert, "tester/synth-expert", token="w")
        assert {"expert.json", "expert.safetensors"} <= set(hub.files("tester/synth-expert"))  # (+ its card)
        back = Expert.load("tester/synth-expert")
    sa, sb = ml_expert.model.state_dict(), back.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert back.config["labels"] == ml_expert.config["labels"]


class _Enc:
    """A text space of random unit vectors: 72 classes in 8 dimensions, so 60 seen classes pin the map down."""

    id, dim, prompt = "synth-8", 8, "{}"

    def __init__(self):
        self.E = torch.nn.functional.normalize(torch.randn(72, 8, generator=torch.Generator().manual_seed(7)), dim=1)

    def embed_labels(self, labels, template=None):
        return self.E[[int(lab[1:]) for lab in labels]]


def test_bilinear_text_probe_reads_a_sign_ambiguous_row_space(tmp_path):
    """kind='bilinear': the delta b (P t)ᵀ carries its class only up to sign; the quadratic text score reads it
    zero-shot, its logits do not change when the delta flips sign, and the expert round-trips bit-exact."""
    from hfprobe.experts.probes import BilinearTextProbe
    from tests.probex_synth import lora_text_tree

    enc = _Enc()
    seen, unseen = list(range(60)), list(range(60, 72))
    idx_tr, idx_va, idx_te = torch.tensor(seen * 3), torch.tensor(seen), torch.tensor(unseen * 3)
    Xtr, Xva, Xte = (lora_text_tree(enc.E, i) for i in (idx_tr, idx_va, idx_te))
    cfg = TrainConfig(head="text", kind="bilinear", r_U=16, max_epochs=100, patience=30)
    exp = train_expert(
        Xtr,
        idx_tr,
        Xva,
        idx_va,
        labels=[f"c{i}" for i in seen],
        cfg=cfg,
        root="synth/sd",
        family="synth",
        layer="unet.x.attn2.to_v",
        text_encoder=enc,
        progress=False,
    )
    assert isinstance(exp.model, BilinearTextProbe) and exp.config["train"]["kind"] == "bilinear"
    assert exp.config["metrics"]["val"] >= 0.3, exp.config["metrics"]  # chance 1/60
    zs = evaluate(exp.model, Xte, idx_te - len(seen), "text", enc.E[unseen])
    assert zs >= 3 / len(unseen), zs
    m = exp.model
    delta = Xte - m.mean
    assert torch.allclose(m(m.mean + delta, enc.E[unseen]), m(m.mean - delta, enc.E[unseen]), atol=1e-5)
    back = Expert.load(exp.save(tmp_path / "bilinear"))
    assert isinstance(back.model, BilinearTextProbe)
    assert torch.equal(back.model(Xte, enc.E[unseen]), exp.model(Xte, enc.E[unseen]))


def test_bilinear_needs_a_text_tree(ml_data):
    Xtr, Ytr, Xva, Yva, *_ = ml_data
    with pytest.raises(ValueError, match="text-aligned tree"):
        train_probe(Xtr, Ytr, Xva, Yva, TrainConfig(kind="bilinear", **SMALL), progress=False)
    with pytest.raises(ValueError, match="unknown probe kind"):
        train_probe(Xtr, Ytr, Xva, Yva, TrainConfig(kind="mlp", **SMALL), progress=False)


def test_early_stopping_waits_while_the_validation_loss_falls(ml_data):
    """Training stops only after `patience` epochs with neither a better figure nor a validation loss 1% lower
    (a text probe can sit at chance top-1 while its loss falls, then take off)."""
    Xtr, Ytr, Xva, Yva, _, _ = ml_data
    # with dropout and weight decay the loss here keeps falling well after the best figure (the case under test)
    cfg = TrainConfig(**{**SMALL, "max_epochs": 300, "patience": 5, "dropout": 0.5, "weight_decay": 1e-2})
    res = train_probe(Xtr, Ytr, Xva, Yva, cfg, progress=False)
    min_loss, min_loss_epoch = float("inf"), -1
    for h in res.history:  # the last epoch the validation loss fell by LOSS_MIN_DELTA (relative)
        if h["val_loss"] < (1 - LOSS_MIN_DELTA) * min_loss:
            min_loss, min_loss_epoch = h["val_loss"], h["epoch"]
    assert res.epochs < cfg.max_epochs
    assert res.epochs - 1 - max(res.best_epoch, min_loss_epoch) == cfg.patience
    # here the loss kept falling after the best figure: the old rule (figure only) would have stopped sooner
    assert min_loss_epoch > res.best_epoch + cfg.patience, (min_loss_epoch, res.best_epoch)


def test_regularisation_defaults_per_head_and_the_expert_records_what_it_used(ml_expert):
    """Unset dropout and weight decay take the head's defaults; set ones are kept; an expert records the values it
    trained with."""
    ml, text = TrainConfig(head="multilabel").resolved(), TrainConfig(head="text").resolved()
    assert (ml.dropout, ml.weight_decay) == (
        HEAD_DEFAULTS["multilabel"]["dropout"],
        HEAD_DEFAULTS["multilabel"]["weight_decay"],
    )
    assert (text.dropout, text.weight_decay) == (
        HEAD_DEFAULTS["text"]["dropout"],
        HEAD_DEFAULTS["text"]["weight_decay"],
    )
    assert ml.dropout != text.dropout
    mine = TrainConfig(head="text", dropout=0.1).resolved()
    assert (mine.dropout, mine.weight_decay) == (0.1, HEAD_DEFAULTS["text"]["weight_decay"])
    assert TrainConfig().dropout is None  # a config stays head-agnostic until it is resolved (the bench switches heads)
    train = ml_expert.config["train"]
    assert (train["dropout"], train["weight_decay"]) == (ml.dropout, ml.weight_decay)
    assert ml_expert.model.drop.p == ml.dropout
    with pytest.raises(ValueError, match="unknown head"):
        TrainConfig(head="regression").resolved()
