"""kohya key names to diffusers key names, step for step as diffusers does it, without importing diffusers.

`sgm_to_diffusers` follows diffusers' `_maybe_map_sgm_blocks_to_diffusers` (with `layers_per_block=2`, SD's and
SDXL's), `non_diffusers_to_diffusers` its `_convert_non_diffusers_lora_to_diffusers`, `unet_key` and
`text_encoder_key` its `_convert_unet_lora_key` / `_convert_text_encoder_lora_key`. Values ride along untouched
(hfprobe passes raw keys). Where diffusers would fail (a `lora_down` without its `lora_up`, keys it cannot place)
these raise `ValueError` with one line. Two steps differ in method, not in result: block membership is found by
parsing each key once (diffusers scans every key per block id), and the SDXL index strip is a linear scan (diffusers
uses a regex with a look-ahead); both keep processing linear in the header. tests/test_formats_oracle.py checks
every result against diffusers itself.

    >>> unet_key("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight")
    'down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight'
"""

from __future__ import annotations

SGM = ("input_blocks", "middle_block", "output_blocks")
NOT_SGM = ("down_blocks", "mid_block", "up_blocks")
INNER = ("resnets", "attentions", "upsamplers")


def _decimal_prefixes(text: str, start: int) -> list[int]:
    """Every integer whose spelling `str(i)` is a prefix of `text[start:]` (`"12x"` -> [1, 12], `"-3"` -> [-3])."""
    end = start + (text[start : start + 1] == "-")
    while end < len(text) and text[end].isdecimal():
        end += 1
    return [
        int(text[start:j])
        for j in range(start + 1, end + 1)
        if text[start:j].lstrip("-") and str(int(text[start:j])) == text[start:j]
    ]


def _members(keys: list[str], pattern: str, ids: set[int], delimiter: str) -> dict[int, list[str]]:
    """{id: [keys containing f"{pattern}{delimiter}{id}"]} for the ids in `ids`, in key order, in one pass."""
    out: dict[int, list[str]] = {i: [] for i in ids}
    needle = pattern + delimiter
    for key in keys:
        found: set[int] = set()
        at = key.find(needle)
        while at != -1:
            found.update(i for i in _decimal_prefixes(key, at + len(needle)) if i in out)
            at = key.find(needle, at + 1)
        for i in found:
            out[i].append(key)
    return out


def sgm_to_diffusers(state_dict: dict, layers_per_block: int = 2, delimiter: str = "_", block_slice_pos: int = 5):
    """diffusers' `_maybe_map_sgm_blocks_to_diffusers` (SDXL sgm block names to diffusers ones)."""
    all_keys = list(state_dict)
    joined = "\n".join(all_keys)  # one scan of all keys first: most files have no sgm names at all
    has_sgm = any(p in joined for p in SGM)
    has_not_sgm = has_sgm and any(not any(p in k for p in SGM) and any(p in k for p in NOT_SGM) for k in all_keys)
    if has_sgm and has_not_sgm:
        for key in all_keys:
            if any(p in key for p in SGM):
                state_dict.pop(key)
        return state_dict
    if not has_sgm:
        return state_dict
    new: dict = {}
    input_ids, middle_ids, output_ids = set(), set(), set()
    for layer in all_keys:
        if "text" in layer:
            new[layer] = state_dict.pop(layer)
        elif not any(p in layer for p in SGM) or f"input_blocks{delimiter}0{delimiter}0" in layer:
            new[layer] = state_dict.pop(layer)
        else:
            layer_id = int(layer.split(delimiter)[:block_slice_pos][-1])
            if SGM[0] in layer:
                input_ids.add(layer_id)
            elif SGM[1] in layer:
                middle_ids.add(layer_id)
            else:
                output_ids.add(layer_id)
    remaining = list(state_dict)
    input_blocks = _members(remaining, "input_blocks", input_ids, delimiter)
    middle_blocks = _members(remaining, "middle_block", middle_ids, delimiter)
    output_blocks = _members(remaining, "output_blocks", output_ids, delimiter)

    def moved(key: str, head: list[str], tail_from: int) -> str:
        parts = key.split(delimiter)
        return delimiter.join(parts[: block_slice_pos - 1] + head + parts[tail_from:])

    for i in input_ids:
        block_id, layer_in_block = (i - 1) // (layers_per_block + 1), (i - 1) % (layers_per_block + 1)
        for key in input_blocks[i]:
            inner = int(key.split(delimiter)[block_slice_pos])
            inner_key = INNER[inner] if "op" not in key else "downsamplers"
            inner_layer = str(layer_in_block) if "op" not in key else "0"
            new[moved(key, [str(block_id), inner_key, inner_layer], block_slice_pos + 1)] = _pop(state_dict, key)
    for i in middle_ids:
        if i not in (0, 1, 2):
            raise ValueError(f"invalid middle block id {i}")
        part = [[INNER[0], "0"], [INNER[1], "0"], [INNER[0], "1"]][i]
        for key in middle_blocks[i]:
            new[moved(key, part, block_slice_pos)] = _pop(state_dict, key)
    for i in output_ids:
        block_id, layer_in_block = i // (layers_per_block + 1), i % (layers_per_block + 1)
        for key in output_blocks[i]:
            inner = int(key.split(delimiter)[block_slice_pos])
            inner_layer = str(layer_in_block) if inner < 2 else "0"
            new[moved(key, [str(block_id), INNER[inner], inner_layer], block_slice_pos + 1)] = _pop(state_dict, key)
    if state_dict:
        raise ValueError("sgm block names that could not be placed")
    return new


def _pop(d: dict, key: str):
    if key not in d:
        raise ValueError("a key claimed by two sgm blocks")
    return d.pop(key)


def _strip_last_index(name: str) -> str:
    """`re.sub(r"\\.\\d+(?=\\D*$)", "", name, count=1)` in one linear pass: drop `.N` for the last digit run."""
    end = len(name)
    while end and not name[end - 1].isdecimal():
        end -= 1
    if not end:
        return name
    start = end
    while start and name[start - 1].isdecimal():
        start -= 1
    return name[: start - 1] + name[end:] if start and name[start - 1] == "." else name


_UNET_RENAMES = (
    ("input.blocks.0.0", "conv_in"),
    ("out.2", "conv_out"),
    ("input.blocks", "down_blocks"),
    ("down.blocks", "down_blocks"),
    ("middle.block", "mid_block"),
    ("mid.block", "mid_block"),
    ("output.blocks", "up_blocks"),
    ("up.blocks", "up_blocks"),
    ("transformer.blocks", "transformer_blocks"),
    ("to.q.lora", "to_q_lora"),
    ("to.k.lora", "to_k_lora"),
    ("to.v.lora", "to_v_lora"),
    ("to.out.0.lora", "to_out_lora"),
    ("proj.in", "proj_in"),
    ("proj.out", "proj_out"),
    ("emb.layers", "time_emb_proj"),
    ("conv.in", "conv_in"),
    ("conv.out", "conv_out"),
    ("time.embed.0", "time_embedding.linear_1"),
    ("time.embed.2", "time_embedding.linear_2"),
    ("label.emb.0.0", "add_embedding.linear_1"),
    ("label.emb.0.2", "add_embedding.linear_2"),
    ("time.embedding.linear.1", "time_embedding.linear_1"),
    ("time.embedding.linear.2", "time_embedding.linear_2"),
)


def unet_key(key: str) -> str:
    """diffusers' `_convert_unet_lora_key`."""
    name = key.replace("lora_unet_", "").replace("_", ".")
    for old, new in _UNET_RENAMES:
        name = name.replace(old, new)
    return _unet_key_tail(name)


def unet_keys(keys: list[str]) -> list[str]:
    """`unet_key` of each key, the renames done on all names joined (one scan per rename, not one per key per
    rename: a header of long names stays fast). Replacing in the joined text is replacing in each name, since no
    rename spans the newline between names; a name holding a newline itself takes the one-key path.

    >>> unet_keys(["lora_unet_mid_block_attentions_0_proj_in.lora_down.weight"])
    ['mid_block.attentions.0.proj_in.lora.down.weight']
    """
    joined = "\n".join(keys)
    if joined.count("\n") != max(0, len(keys) - 1):
        return [unet_key(k) for k in keys]
    joined = joined.replace("lora_unet_", "").replace("_", ".")
    for old, new in _UNET_RENAMES:
        joined = joined.replace(old, new)
    return [_unet_key_tail(name) for name in joined.split("\n")] if keys else []


def _unet_key_tail(name: str) -> str:
    """The rest of `_convert_unet_lora_key`, after its fixed renames."""
    if "emb" in name and "time.emb.proj" not in name:
        name = _strip_last_index(name)
    if ".in." in name:
        name = name.replace("in.layers.2", "conv1")
    if ".out." in name:
        name = name.replace("out.layers.3", "conv2")
    if "downsamplers" in name or "upsamplers" in name:
        name = name.replace("op", "conv")
    if "skip" in name:
        name = name.replace("skip.connection", "conv_shortcut")
    if "time.emb.proj" in name:
        name = name.replace("time.emb.proj", "time_emb_proj")
    if "conv.shortcut" in name:
        name = name.replace("conv.shortcut", "conv_shortcut")
    if "transformer_blocks" in name and ("attn1" in name or "attn2" in name):
        name = name.replace("attn1", "attn1.processor").replace("attn2", "attn2.processor")
    return name


_TE_RENAMES = (
    ("text.model", "text_model"),
    ("self.attn", "self_attn"),
    ("q.proj.lora", "to_q_lora"),
    ("k.proj.lora", "to_k_lora"),
    ("v.proj.lora", "to_v_lora"),
    ("out.proj.lora", "to_out_lora"),
    ("text.projection", "text_projection"),
)


def text_encoder_key(key: str, lora_name: str) -> str:
    """diffusers' `_convert_text_encoder_lora_key`."""
    if lora_name.startswith(("lora_te_", "lora_te1_")):
        prefix = "lora_te_" if lora_name.startswith("lora_te_") else "lora_te1_"
    else:
        prefix = "lora_te2_"
    name = key.replace(prefix, "").replace("_", ".")
    for old, new in _TE_RENAMES:
        name = name.replace(old, new)
    if "self_attn" not in name and "text_projection" not in name and "mlp" in name:
        name = name.replace(".lora.", ".lora_linear_layer.")
    return name


def non_diffusers_to_diffusers(state_dict: dict) -> dict:
    """diffusers' `_convert_non_diffusers_lora_to_diffusers` without alphas (hfprobe attaches `.alpha` itself)."""
    unet, te, te2 = {}, {}, {}
    dora_unet = dora_te = dora_te2 = False
    if any("dora_scale" in k for k in state_dict):
        dora_unet = any("dora_scale" in k and "lora_unet_" in k for k in state_dict)
        dora_te = any("dora_scale" in k and ("lora_te_" in k or "lora_te1_" in k) for k in state_dict)
        dora_te2 = any("dora_scale" in k and "lora_te2_" in k for k in state_dict)
    downs = [key for key in state_dict if key.endswith("lora_down.weight")]
    unet_names = [key for key in downs if key.split(".")[0].startswith("lora_unet_")]
    unet_names = dict(zip(unet_names, unet_keys(unet_names)))
    for key in downs:
        lora_name = key.split(".")[0]
        up = lora_name + ".lora_up.weight"
        if lora_name.startswith("lora_unet_"):
            name = unet_names[key]
            unet[name] = _take(state_dict, key)
            unet[name.replace(".down.", ".up.")] = _take(state_dict, up)
            if dora_unet:
                old = "_lora.down." if "_lora.down." in name else ".lora.down."
                unet[name.replace(old, ".lora_magnitude_vector.")] = _take(
                    state_dict, key.replace("lora_down.weight", "dora_scale")
                )
        elif lora_name.startswith(("lora_te_", "lora_te1_", "lora_te2_")):
            name = text_encoder_key(key, lora_name)
            target = te if lora_name.startswith(("lora_te_", "lora_te1_")) else te2
            target[name] = _take(state_dict, key)
            target[name.replace(".down.", ".up.")] = _take(state_dict, up)
            if dora_te or dora_te2:
                old = "_lora.down." if "_lora.down." in name else ".lora_linear_layer."
                target[name.replace(old, ".lora_magnitude_vector.")] = _take(
                    state_dict, key.replace("lora_down.weight", "dora_scale")
                )
    if state_dict:
        raise ValueError(f"{len(state_dict)} keys that are not lora_down/lora_up pairs")
    out = {f"unet.{k}": v for k, v in unet.items()}
    out.update({f"text_encoder.{k}": v for k, v in te.items()})
    out.update({f"text_encoder_2.{k}": v for k, v in te2.items()})
    return out


def _take(d: dict, key: str):
    if key not in d:
        raise ValueError("a lora_down without its lora_up (or dora_scale)")
    return d.pop(key)
