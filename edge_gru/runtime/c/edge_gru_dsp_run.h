/* edge-gru: the DSP cores' (Cortex-M4/M7/M33) sequence loop of the common model: one reset_after GRU layer, int8
 * weights in the pairs layout, a Q0.15 state, features as input. Included by edge_gru.c after eg_gru_step.
 *
 * eg_gru_step builds the arguments of its three kernels (x W + b_i, h_tm1 U + b_h, gates and state update) on every
 * step, and eg_step goes through the layer loop around it: about 190 cycles a step on the M4, 0.14 cycles per MAC
 * of a GRU(16). Within one eg_run none of those arguments changes (the state, the scratch and the model stay where
 * they are), so eg_dsp_run builds them once and runs each step as the input's packing and one call: the pairs
 * kernel runs both products and continues into the gates (one save and restore of the registers, one call and
 * return). The kernels, their arguments and their order are those of eg_gru_step: the same integers.
 *
 * The arguments live in the scratch that this loop leaves unused (eg_gru_step's packed copy of h_tm1 and its z, kh + H
 * entries: the pairs kernel reads the state in place and the gates keep z in a register), so the stack is no deeper
 * than eg_step's: scratch = x (kx) | the arguments (EG_PLAN_WORDS) | x W + b_i and h_tm1 U + b_h side by side (2 cols).
 * A layer too small for them (kh + H < EG_PLAN_WORDS, fewer than 12 units) steps as before. */
#ifndef EDGE_GRU_DSP_RUN_H
#define EDGE_GRU_DSP_RUN_H

#if EG_DSP && !EG_MVE && EG_USE_PAIRS && EG_USE_W8 && EG_USE_A16 && EG_USE_AFTER && EG_USE_ACC32 && EG_USE_FEATURES
#define EG_DSP_PLAN 1
/* EG_RUN_F: in a build specialized to its model.h, the input width as a constant, so that the input's packing
 * unrolls (a model of another width steps as before) */
#if defined(EG_WITH_MODEL_H) && defined(EG_MODEL_FEATURES) && defined(EG_MODEL_USES_W8)
#define EG_RUN_F(m) EG_MODEL_FEATURES
#else
#define EG_RUN_F(m) ((m)->features)
#endif
typedef struct {
    eg_i8_args_t x, h;        /* x W + b_i, h_tm1 U + b_h */
    eg_gates_args_t gates;    /* z, r, hh and h */
} eg_dsp_plan_t;
#define EG_PLAN_WORDS ((int32_t)(sizeof(eg_dsp_plan_t) / sizeof(int32_t)))

/* Whether eg_gru_step would run this model's step as the pairs kernel twice and eg_gates_dsp16, and the arguments
 * fit the scratch; then p holds those kernels' arguments for this state and scratch. */
static int32_t eg_dsp_plan(const eg_model_t *m, int16_t *state, int32_t *scratch, eg_dsp_plan_t *p)
{
    const eg_gru_t *g = &m->gru[0];
    int32_t *gx;
    if (m->n_gru != 1 || !g->W || (EG_USE_WINDOW && m->window) || !EG_PAIRS(g) || EG_W16(m) || EG_A8(m) ||
        !EG_AFTER(g) || EG_ACC64(g->acc64) || !g->use_bias || !g->rqx || !g->rqh || g->cols < 4 || g->units < 1 ||
        g->kh != g->units || ((uintptr_t)state & 3) || m->features != EG_RUN_F(m) ||
        g->kx != (EG_RUN_F(m) + 1) / 2 * 2 || g->kh + g->units < EG_PLAN_WORDS)
        return 0;
    gx = scratch + g->kx + EG_PLAN_WORDS;
    eg_i8_args(&p->x, gx, (const uint32_t *)scratch, g->kx, (const int8_t *)g->W, g->cols / 4,
               (const int32_t *)g->b_i, g->rqx);
    eg_i8_args(&p->h, gx + 1, (const uint32_t *)(const void *)state, g->kh, (const int8_t *)g->U, g->cols / 4,
               (const int32_t *)g->b_h, g->rqh);
    p->gates.pz = gx;
    p->gates.pr = gx + 2 * g->units;
    p->gates.ph = gx + 2 * g->hoff;
    p->gates.h = state;
    p->gates.h_end = state + g->units;
    p->gates.sig = m->sig_tab + 256;
    p->gates.tanh = m->tanh_tab + 256;
    return 1;
}

/* T steps of x_q from the state; 0 (nothing run) when the model is not the one this loop runs */
static EG_NOINLINE int32_t eg_dsp_run(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T,
                                      int32_t *scratch)
{
    const int32_t F = EG_RUN_F(m), K = (EG_RUN_F(m) + 1) / 2 * 2;
    eg_dsp_plan_t *p = (eg_dsp_plan_t *)(void *)(scratch + K);
    int32_t t;
    if (!eg_dsp_plan(m, state, scratch, p)) return 0;
    for (t = 0; t < T; ++t) {
        eg_vec_from16(scratch, x_q + t * F, F, K);       /* x */
        /* x_all = x W + b_i, h_all = h_tm1 U + b_h -> Q3.12; then z, r, hh and h (eg_gates_dsp16) */
        eg_matrix_p8_asm(&p->x, &p->h, &p->gates);
    }
    return 1;
}
#else
#define EG_DSP_PLAN 0
#endif

#endif
