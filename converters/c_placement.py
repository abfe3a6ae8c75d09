"""Where a C export's weights (and code) run: the model.c pieces, the linker fragment and its README section.

Placements (the same names as ``firmware_sim``'s ``--placement``):

- ``flash``: everything ``const`` stays in the part's flash (or XIP/MRAM); nothing to add.
- ``weights-ram``: every model array is put in section ``.eg_weights``, which the linker runs from RAM
  (SRAM, or DTCM on an STM32H7) with its image in flash; ``eg_model_place()`` copies it at start-up.
- ``ram``: as ``weights-ram``, and the program's code also runs from RAM (pico-sdk ``copy_to_ram``, or
  ``.text`` in ITCM on an STM32H7): a whole-program link choice of the user's project, documented here.
"""

from __future__ import annotations

PLACEMENTS = ("flash", "weights-ram", "ram")
WEIGHTS_SECTION = ".eg_weights"
PLACEMENT_LD = "edge_gru_placement.ld"

PLACE_C = """
/* Placement {placement}: the arrays above live in section .eg_weights, which the linker runs from RAM with its
 * image in flash (edge_gru_placement.ld defines the symbols). Call once at start-up, before the first inference.
 * The symbols are weak: linked without the fragment (a host build), they are 0 and nothing is copied. */
extern const uint32_t __eg_weights_load[] __attribute__((weak));
extern uint32_t __eg_weights_start[] __attribute__((weak)), __eg_weights_end[] __attribute__((weak));
void eg_model_place(void)
{{
    const uint32_t *s = __eg_weights_load;
    uint32_t *d = __eg_weights_start;
    if (s == d) return;
    while (d < __eg_weights_end) {{
        *d++ = *s++;
        __asm__ volatile("");  /* a plain word loop: no memcpy call, no unrolled conditional (IT) copies */
    }}
}}
"""

FRAGMENT = """/* edge-gru linker fragment, placement {placement} (generated). Paste inside the SECTIONS {{ }} of your
 * GNU ld script, next to .data, and name your script's regions: RAM = where the weights run (SRAM; DTCMRAM on an
 * STM32H7), FLASH = where the image is stored. eg_model_place() (model.c) copies the weights at start-up. */
.eg_weights : ALIGN(4)
{{
  __eg_weights_start = .;
  KEEP(*(.eg_weights .eg_weights.*))
  . = ALIGN(4);
  __eg_weights_end = .;
}} > RAM AT > FLASH
__eg_weights_load = LOADADDR(.eg_weights);
"""

README = """
## Placement: {placement}
{text}
"""

_TEXT = {
    "flash": "The weights are `const` and stay in flash: nothing to add to your project. On a part whose flash has "
             "wait states or sits behind a small cache, `edge-gru simulate DIR --target NAME` shows the cost, and "
             "`--placement weights-ram` the alternative.",
    "weights-ram": "Every model array is in section `.eg_weights`. Add `edge_gru_placement.ld` to your linker "
                   "script (it says where) and call `eg_model_place()` once at start-up, before the first "
                   "inference: it copies the weights from their flash image into RAM. RAM cost: the constant "
                   "model data in the table above, on top of state and scratch.",
    "ram": "As `weights-ram` (add `edge_gru_placement.ld`, call `eg_model_place()` at start-up), and the code "
           "runs from RAM too: link the whole program that way (pico-sdk: `pico_set_binary_type(TARGET "
           "copy_to_ram)`; STM32H7: put `.text` in `ITCMRAM AT> FLASH` and copy it in the start-up code as .data "
           "is copied). `edge-gru simulate` models exactly this: code and constants copied at reset.",
}


def place_c(placement: str) -> str:
    """The C appended to ``model.c`` for ``placement`` (empty for ``flash``)."""
    return "" if placement == "flash" else PLACE_C.format(placement=placement)


def placement_fragment(placement: str) -> str:
    """The GNU ld fragment written beside the sources for a placement other than ``flash``."""
    return FRAGMENT.format(placement=placement)


def placement_readme(placement: str) -> str:
    """The generated README's placement section."""
    return README.format(placement=placement, text=_TEXT[placement])


__all__ = ["PLACEMENTS", "PLACEMENT_LD", "WEIGHTS_SECTION", "place_c", "placement_fragment", "placement_readme"]
