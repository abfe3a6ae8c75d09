/* edge-gru: the sequence loop of the common model on the DSP cores (Cortex-M4/M7/M33) and the ARMv6-M ones (M0/M0+):
 * one reset_after GRU layer, int8 weights, a Q0.15 state, features as input. Included by edge_gru.c after
 * eg_gru_step; eg_run takes it when the model is that one (eg_dsp_run, eg_v6m_run return 0 otherwise), and eg_step
 * for one step (it builds the arguments for that step; it saves the calls and register saves, and the layer loop).
 *
 * eg_gru_step builds the arguments of its kernels (x W + b_i, h_tm1 U + b_h, gates and state update) on every step,
 * and eg_step goes through the layer loop around it: about 190 cycles a step on the M4 (0.14 cycles per MAC of a
 * GRU(16)), 640 on the M0+ (0.46). Within one eg_run none of those arguments changes (the state, the scratch and the
 * model stay where they are), so they are built once. The kernels, their arguments and their order are those of
 * eg_gru_step: the same integers.
 *
 * DSP (pairs layout): a step is the input's packing and one call: the pairs kernel runs both products and continues
 * into the gates (one save and restore of the registers, one call and return). The arguments live in the scratch this
 * loop leaves unused (eg_gru_step's packed copy of h_tm1 and its z, kh + H entries: the pairs kernel reads the state in
 * place and the gates keep z in a register), so the stack is no deeper than eg_step's: scratch = x (kx) | the
 * arguments (EG_PLAN_WORDS) | x W + b_i and h_tm1 U + b_h side by side (2 cols). A layer too small for them
 * (kh + H < EG_PLAN_WORDS, fewer than 12 units) steps as before.
 * ARMv6-M (blocks layout): a step packs x and h_tm1 (one int32 a value), runs the matrix kernel twice and the gates;
 * the arguments take eg_gru_step's z (H entries, unused by the fused gates): 16 units or more. */
#ifndef EDGE_GRU_RUN_H
#define EDGE_GRU_RUN_H

/* EG_RUN_F: in a build specialized to its model.h, the input width as a constant, so that the input's packing
 * unrolls (a model of another width steps as before) */
#if defined(EG_WITH_MODEL_H) && defined(EG_MODEL_FEATURES) && defined(EG_MODEL_USES_W8)
#define EG_RUN_F(m) EG_MODEL_FEATURES
#else
#define EG_RUN_F(m) ((m)->features)
#endif

#if EG_DSP && !EG_MVE && EG_USE_PAIRS && EG_USE_W8 && EG_USE_A16 && EG_USE_AFTER && EG_USE_ACC32 && EG_USE_FEATURES
#define EG_DSP_PLAN 1
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

#if EG_V6M_SEQ   /* (edge_gru_v6m.h) */
#define EG_V6M_PLAN 1
typedef struct {
    eg_v6m_args_t x, h;       /* x W + b_i, h_tm1 U + b_h */
} eg_v6m_plan_t;
#define EG_V6M_PLAN_WORDS ((int32_t)(sizeof(eg_v6m_plan_t) / sizeof(int32_t)))

/* Whether eg_gru_step would run this model's step as eg_matrix_v6m twice (requantizing in the assembly) and
 * eg_gates_v6m16, and the arguments fit the scratch; then p holds the products' arguments */
static int32_t eg_v6m_plan(const eg_model_t *m, int32_t *scratch, eg_v6m_plan_t *p)
{
    const eg_gru_t *g = &m->gru[0];
    int32_t *vh = scratch + g->kx, *gx = vh + g->kh;
    if (m->n_gru != 1 || !g->W || (EG_USE_WINDOW && m->window) || EG_PAIRS(g) || EG_ROWS(g) || EG_W16(m) ||
        EG_A8(m) || !EG_AFTER(g) || EG_ACC64(g->acc64) || !g->r32x || !g->r32h || g->cols < 4 ||
        g->units < EG_V6M_PLAN_WORDS || m->features != EG_RUN_F(m) || g->kx != (EG_RUN_F(m) + 1) / 2 * 2 ||
        g->kh != (g->units + 1) / 2 * 2)
        return 0;
    eg_v6m_args(&p->x, gx, scratch, (const int8_t *)g->W, g->kx, g->cols / 4,
                g->use_bias ? (const int32_t *)g->b_i : 0, g->mx, g->nx);
    eg_v6m_args(&p->h, gx + g->cols, vh, (const int8_t *)g->U, g->kh, g->cols / 4,
                g->use_bias ? (const int32_t *)g->b_h : 0, g->mh, g->nh);
    return 1;
}

/* h_tm1 as the recurrent product's operand (one int32 a value, kh = H rounded up to even): a word-aligned state two
 * values a load */
static EG_INLINE void eg_v6m_state_operand(int32_t *vh, const int16_t *state, int32_t H)
{
    int32_t k = 0;
    if (!((uintptr_t)state & 3)) {
        eg_v6m_unpack16(vh, state, H / 2);       /* (edge_gru_v6m.h) */
        k = H & ~1;
    }
    EG_NO_UNROLL for (; k < H; ++k) vh[k] = state[k];
    if (H & 1) vh[H] = 0;
}

/* T steps of x_q from the state; 0 (nothing run) when the model is not the one this loop runs */
static EG_NOINLINE int32_t eg_v6m_run(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T,
                                      int32_t *scratch)
{
    const eg_gru_t *g = &m->gru[0];
    const int32_t F = EG_RUN_F(m), K = (EG_RUN_F(m) + 1) / 2 * 2;
    int32_t *vh = scratch + K, *gx = vh + g->kh;
    eg_v6m_plan_t *p = (eg_v6m_plan_t *)(void *)(gx + 2 * g->cols);    /* eg_gru_step's z */
    const int32_t *bx, *bh;
    int32_t t;
    if (!eg_v6m_plan(m, scratch, p)) return 0;
    bx = p->x.bias;
    bh = p->h.bias;
    for (t = 0; t < T; ++t) {
        eg_vec_from16(scratch, x_q + t * F, F, K);       /* x */
        eg_v6m_state_operand(vh, state, g->units);       /* h_tm1 */
        eg_matrix_v6m(&p->x);                            /* x_all = x W + b_i          -> Q3.12 */
        eg_matrix_v6m(&p->h);                            /* h_all = h_tm1 U + b_h      -> Q3.12 */
        eg_gates_v6m16(gx, state, g, m);                 /* z, r, hh and h */
        /* the kernel advances out, bias, mul and sh in its arguments as it goes: back to their starts */
        p->x.out = gx;
        p->x.bias = bx;
        p->x.mul = g->mx;
        p->x.sh = g->nx;
        p->h.out = gx + g->cols;
        p->h.bias = bh;
        p->h.mul = g->mh;
        p->h.sh = g->nh;
    }
    return 1;
}
#else
#define EG_V6M_PLAN 0
#endif

#endif
