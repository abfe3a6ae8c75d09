/* edge-gru on-device runtime. Each line names the float equation it computes
 * (edge_gru/float_ref.py); rounding and saturation rules: edge_gru/fixed/kernels.py.
 * The integers are those of the Numba reference; only the order of exact integer additions and
 * the width of provably non-overflowing intermediates differ. */
#include <stddef.h>

#include "edge_gru.h"

#include "edge_gru_build.h"   /* which paths this build compiles, and for which core */

const char *eg_kernel_path(void) { return EG_MVE ? "mve" : (EG_DSP ? "dsp" : (EG_V6M ? "armv6m" : "portable")); }

/* ---- integer primitives (kernels.py: rshift_round, requant, sat, act, to_state) ---------------- */

/* floor(v / 2^n). GCC and clang define >> of a negative value as the arithmetic shift; other
 * compilers get a form that does not rely on the implementation-defined behaviour. */
#if defined(__GNUC__) || defined(__clang__)
static int64_t eg_asr(int64_t v, int n) { return v >> n; }
static int32_t eg_asr32(int32_t v, int n) { return v >> n; }
#else
static int64_t eg_asr(int64_t v, int n) { return v >= 0 ? (v >> n) : ~((~v) >> n); }
static int32_t eg_asr32(int32_t v, int n) { return v >= 0 ? (v >> n) : ~((~v) >> n); }
#endif
static int64_t eg_rshift_round(int64_t v, int n) { return eg_asr(v + ((int64_t)1 << (n - 1)), n); }
/* callers guarantee v + 2^(n-1) fits in 32 bits */
static int32_t eg_rshift_round32(int32_t v, int n) { return eg_asr32(v + ((int32_t)1 << (n - 1)), n); }
static int64_t eg_requant(int64_t acc, int32_t m, int32_t n) { return eg_rshift_round(acc * (int64_t)m, n); }
static int64_t eg_sat(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
static int32_t eg_sat32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
#if EG_SSAT
static int32_t eg_sat8(int32_t v) { return __ssat(v, 8); }
static int32_t eg_sat16(int32_t v) { return __ssat(v, 16); }
#else
static int32_t eg_sat8(int32_t v) { return eg_sat32(v, -128, 127); }
static int32_t eg_sat16(int32_t v) { return eg_sat32(v, -32768, 32767); }
#endif
/* saturation to the state's symmetric range: +-32767 (Q0.15), +-127 (Q0.7) */
static int32_t eg_sat_q15(int32_t v)
{
    v = eg_sat16(v);
    return v < -32767 ? -32767 : v;
}
static int32_t eg_sat_q7(int32_t v)
{
    v = eg_sat8(v);
    return v < -127 ? -127 : v;
}

/* requant(acc, m, n) = floor((acc * m + 2^(n-1)) / 2^n) for an int32 accumulator.
 * For 17 <= n <= 46 without 64-bit arithmetic: acc = a1 * 2^16 + a0 (0 <= a0 < 2^16) gives
 * floor((a1 * m + floor(a0 * m / 2^16) + 2^(n-17)) / 2^(n-16)), every term below 2^30 (m < 2^15).
 * For 1 <= n <= 16, 2^n divides a1 * m * 2^16: a1 * m * 2^(16-n) + floor((a0 * m + 2^(n-1)) / 2^n),
 * summed modulo 2^32 (a0 * m + 2^15 < 2^31; the result fits int32, proved at quantization). */
static int32_t eg_requant32(int32_t acc, int32_t m, int32_t n)
{
    int32_t a1 = eg_asr32(acc, 16), a0 = acc & 0xFFFF;
    if (n >= 17 && n <= 46)
        return eg_asr32(a1 * m + ((a0 * m) >> 16) + ((int32_t)1 << (n - 17)), n - 16);
    if (!EG_DSP && n >= 1 && n <= 16)   /* (the DSP cores' 64-bit SMULL form is faster) 2^n divides a1 m 2^16: a1 m 2^(16-n) + floor((a0 m + 2^(n-1)) / 2^n), mod 2^32 */
        return (int32_t)(((uint32_t)(a1 * m) << (16 - n)) + (uint32_t)((a0 * m + ((int32_t)1 << (n - 1))) >> n));
    return (int32_t)eg_requant(acc, m, n);   /* fits: proved at quantization */
}

/* Table activation of a Q3.12 value in int16 range -> Q0.15 (kernels.py: act) */
/* The same with mid = tab + 256 (the table's middle, which hot loops keep in a register): (v + 32768) >> 7 =
 * 256 + (v >> 7), and v & 127 = (v + 32768) & 127. */
static EG_INLINE int32_t eg_act_mid(const int16_t *mid, int32_t v)
{
    int32_t idx = eg_asr32(v, 7), frac = v & 127;
    int32_t t0 = mid[idx], t1 = mid[idx + 1];
    return t0 + eg_rshift_round32((t1 - t0) * frac, 7);
}
static int32_t eg_act(const int16_t *tab, int32_t v) { return eg_act_mid(tab + 256, v); }

/* Q0.15 -> state format, saturated (kernels.py: to_state) */
static int32_t eg_to_state(int32_t h16, int shift, int32_t qmax)
{
    return eg_sat32(shift ? eg_rshift_round32(h16, shift) : h16, -qmax, qmax);
}

#include "edge_gru_matrix.h"  /* the matrix products */
#include "edge_gru_dsp_gates.h"   /* EG_DSP: the gate and state-update assembly */


/* ---- gates ---------------------------------------------------------------------------------------- */



#if !EG_V6M && !EG_MVE
#if EG_SSAT
static int32_t eg_sat21(int32_t v) { return __ssat(v, 21); }
#else
static int32_t eg_sat21(int32_t v) { return eg_sat32(v, -(1 << 20), (1 << 20) - 1); }
#endif

/* reset_after, unit k: z (to *z_k) and hh = tanh(x_h + r * (h_tm1 U_h + b_hh)); p = gx + 2k, the products' outputs
 * side by side (EG_OS 2): p[0] x_z, p[1] h_tm1 U_z, p[2 H] x_r, p[2 H + 1], p[2 hoff] x_h, p[2 hoff + 1]. */
static EG_INLINE int32_t eg_cand_after(const int16_t *const *tab, const int32_t *p, int32_t r_at, int32_t h_at,
                                       int32_t *z_k)
{
    int32_t r, r_hu, xh;
    *z_k = eg_act_mid(tab[0], eg_sat16(p[0] + p[1]));                          /* z = sigmoid(x_z + h_tm1 U_z) */
    r = eg_act_mid(tab[0], eg_sat16(p[r_at] + p[r_at + 1]));                  /* r = sigmoid(x_r + h_tm1 U_r) */
    r_hu = eg_rshift_round32(r * eg_sat16(p[h_at + 1]), 15);                 /* r * (h_tm1 U_h + b_hh) */
    xh = eg_sat21(p[h_at]);                                                  /* exact: |r_hu| <= 2^15 */
    return eg_act_mid(tab[1], eg_sat16(xh + r_hu));                          /* hh = tanh(x_h + r * (...)) */
}

/* reset_after: gates and state update in one pass over the units, the state written in its format (one loop per
 * format, so that the shift and the bounds are constants). gx: the products' outputs side by side (EG_OS 2). */
static EG_NOINLINE void eg_gates_update_after(const eg_model_t *m, int32_t H, int32_t hoff, const int32_t *gx,
                                              int16_t *h_state)
{
    /* the middles of the sigmoid and tanh tables (eg_act_mid) */
    const int16_t *const tab[2] = {m->sig_tab + 256, m->tanh_tab + 256};
    const int16_t *end = h_state + H;
    const int32_t r_at = 2 * H, h_at = 2 * hoff;
    int32_t z, hh, h_tm1, h16;
    if (EG_A8(m)) {
        for (; h_state < end; ++h_state, gx += 2) {
            hh = eg_cand_after(tab, gx, r_at, h_at, &z);
            h_tm1 = *h_state * 256;
            h16 = hh + eg_rshift_round32(z * (h_tm1 - hh), 15);                /* h = hh + z * (h_tm1 - hh) */
            *h_state = (int16_t)eg_sat_q7(eg_rshift_round32(h16, 8));
        }
    } else if (!EG_DSP) {   /* (the DSP cores run a Q0.15 state's loop in assembly: eg_gates_dsp16) */
        for (; h_state < end; ++h_state, gx += 2) {
            hh = eg_cand_after(tab, gx, r_at, h_at, &z);
            h_tm1 = *h_state;
            h16 = hh + eg_rshift_round32(z * (h_tm1 - hh), 15);                /* h = hh + z * (h_tm1 - hh) */
            *h_state = (int16_t)eg_sat_q15(h16);
        }
    }
}
#endif

/* reset_after=False: z, and r * h_tm1 as the operand of the candidate's matrix product (gx, gh: the products'
 * outputs, EG_OS apart). */
static EG_NOINLINE void eg_gates_before(const eg_model_t *m, int32_t H, const int32_t *gx,
                                        const int32_t *gh, const int16_t *h_tm1, int32_t *z, int32_t *rh)
{
    int32_t k;
    for (k = 0; k < H; ++k) {
        int32_t r;
        z[k] = eg_act(m->sig_tab, eg_sat16(gx[k * EG_OS] + gh[k * EG_OS]));   /* z = sigmoid(x_z + h_tm1 U_z) */
        r = eg_act(m->sig_tab, eg_sat16(gx[(H + k) * EG_OS] + gh[(H + k) * EG_OS]));   /* r = sigmoid(x_r + h_tm1 U_r) */
        eg_vset(rh, k, eg_rshift_round32(r * h_tm1[k], 15));                  /* r * h_tm1 */
    }
}

/* hh = tanh(...), h = hh + z * (h_tm1 - hh), written to the state in its format (one loop per state
 * format, so that the shift and the bounds are constants); gxh[k * EG_OS] holds the candidate's pre-activation. */
static EG_NOINLINE void eg_update(const eg_model_t *m, int32_t H, const int32_t *gxh, const int32_t *z,
                                  int16_t *h_state)
{
    const int16_t *tab = m->tanh_tab;
    int32_t k;
    if (EG_A8(m)) {
        for (k = 0; k < H; ++k) {
            int32_t hh = eg_act(tab, gxh[k * EG_OS]);                                  /* hh = tanh(...) */
            int32_t h_tm1 = h_state[k] * 256;
            int32_t h16 = hh + eg_rshift_round32(z[k] * (h_tm1 - hh), 15);    /* h = hh + z * (h_tm1 - hh) */
            h_state[k] = (int16_t)eg_sat_q7(eg_rshift_round32(h16, 8));
        }
    } else {
        for (k = 0; k < H; ++k) {
            int32_t hh = eg_act(tab, gxh[k * EG_OS]);                                  /* hh = tanh(...) */
            int32_t h_tm1 = h_state[k];
            int32_t h16 = hh + eg_rshift_round32(z[k] * (h_tm1 - hh), 15);    /* h = hh + z * (h_tm1 - hh) */
            h_state[k] = (int16_t)eg_sat_q15(h16);
        }
    }
}

/* work (int32): vh (kh) | gx, gh (2 cols) | z (H). Columns: z at 0, r at H, the candidate at hoff; column j of
 * x W + b_i at gx[j * EG_OS], of h_tm1 U + b_h at gh[j * EG_OS] (EG_OS 2: gh = gx + 1, side by side; else gh = gx + cols). */
static void eg_gru_step(const eg_model_t *m, const eg_gru_t *g, int16_t *h_state, const int32_t *vx, int32_t *work,
                        int32_t fold_row)
{
    const int32_t H = g->units, C = g->cols, hoff = g->hoff, w16 = EG_W16(m);
    int32_t *vh = work, *gx = work + g->kh, *gh = EG_OS == 2 ? gx + 1 : gx + C, *z = gx + 2 * C;
    /* the layout argument of eg_matrix: 0 (blocks), 1 (pairs) or the rows layout's chunk */
    const int32_t lay = EG_PAIRS(g) ? 1 : !EG_ROWS(g) ? 0 : (!w16 && EG_A8(m) && !EG_ACC64(g->acc64)) ? 16 : 8;
    /* h_tm1 as the operand of h_tm1 U: on the DSP path a word-aligned state of an even number of units already is
     * (two int16 a word, the first in the low half); else a packed copy in vh */
    const int32_t *vh_in = vh;
    int32_t k;
    if (EG_DSP && !EG_MVE && g->kh == H && !((uintptr_t)h_state & 3))
        vh_in = (const int32_t *)(const void *)h_state;
    else
        eg_vec_from16(vh, h_state, H, g->kh);                                  /* h_tm1 */
    if (EG_USE_FOLD && fold_row >= 0) {
        /* x_all = x W + b_i -> Q3.12, computed at export time for every token (folded embedding) */
        if (m->fold16)
            EG_NO_UNROLL for (k = 0; k < C; ++k) gx[k * EG_OS] = ((const int16_t *)m->fold)[fold_row * C + k];
        else
            EG_NO_UNROLL for (k = 0; k < C; ++k) gx[k * EG_OS] = ((const int32_t *)m->fold)[fold_row * C + k];
    } else {
        /* x_all = x W + b_i  -> Q3.12 */
        eg_matrix(gx, vx, g->kx, g->W, w16, 0, C, g->b_i, g->use_bias, g->acc64, g->mx, g->nx, g->rqx, g->r32x, lay);
    }
    if (EG_AFTER(g)) {
        /* h_all = h_tm1 U + b_h  -> Q3.12 */
        eg_matrix(gh, vh_in, g->kh, g->U, w16, 0, C, g->b_h, g->use_bias, g->acc64, g->mh, g->nh, g->rqh, g->r32h, lay);
#if EG_V6M
#if EG_USE_A16 && EG_USE_AFTER
        if (!EG_A8(m)) {                                                       /* z, r, hh and h in one pass */
            if (H > 0) eg_gates_v6m16(gx, h_state, g, m);
            return;
        }
#endif
#if EG_USE_A8
        eg_gates_v6m_sig(z, gx, gh, H, m->sig_tab);
        eg_gates_v6m_cand(gx + hoff, gx + H, gh + H, gh + hoff, H, m->sig_tab);
#endif
#elif EG_MVE
        eg_gates_after_mve(m, H, hoff, gx, gh, z);
#else
#if EG_DSP
        if (!EG_A8(m)) {                       /* z, r, hh and h: edge_gru_dsp_gates.h (Q0.15 state) */
            eg_gates_args_t a;
            a.pz = gx;
            a.pr = gx + 2 * H;
            a.ph = gx + 2 * hoff;
            a.h = h_state;
            a.h_end = h_state + H;
            a.sig = m->sig_tab + 256;
            a.tanh = m->tanh_tab + 256;
            if (H > 0) eg_gates_dsp16(&a);
            return;
        }
#endif
        eg_gates_update_after(m, H, hoff, gx, h_state);                        /* z, r, hh and h */
        return;
#endif
    } else if (EG_USE_BEFORE) {
        /* h_tm1 U_z, h_tm1 U_r -> Q3.12 (columns before hoff); then (r * h_tm1) U_h */
        eg_matrix(gh, vh_in, g->kh, g->U, w16, 0, hoff, g->b_h, 0, g->acc64, g->mh, g->nh, g->rqh, g->r32h, lay);
        eg_gates_before(m, H, gx, gh, h_state, z, vh);                          /* vh := r * h_tm1 */
        eg_matrix(gh + hoff * EG_OS, vh, g->kh, g->U, w16, hoff, C - hoff, g->b_h, 0, g->acc64, g->mh, g->nh, g->rqh,
                  g->r32h, lay);
        EG_NO_UNROLL for (k = hoff * EG_OS; k < (hoff + H) * EG_OS; k += EG_OS)
            gx[k] = eg_sat16(gx[k] + gh[k]);                                    /* x_h + (r*h_tm1) U_h */
    }
#if EG_V6M && EG_USE_BEFORE && EG_USE_A16
    if (!EG_A8(m)) {                                                           /* (reset_after=False here) */
        eg_update_v6m16(h_state, gx + hoff, z, H, m->tanh_tab);
        return;
    }
#endif
#if EG_MVE
    eg_update_mve(m, H, gx + hoff, z, h_state);
#else
    eg_update(m, H, gx + hoff * EG_OS, z, h_state);
#endif
}

#include "edge_gru_head.h"   /* the dense head: eg_dense, eg_head */
#include "edge_gru_run.h"    /* DSP, ARMv6-M: the loop of a one-layer model, its kernels' arguments built once */

/* ---- public API ----------------------------------------------------------------------------------- */

void eg_reset(const eg_model_t *m, int16_t *state)
{
    int32_t i;
    EG_NO_UNROLL for (i = 0; i < m->state_len; ++i) state[i] = 0;
}

static int32_t eg_kmax(const eg_model_t *m)
{
    int32_t l, kmax = 0;
    EG_NO_UNROLL for (l = 0; l < m->n_gru; ++l) kmax = m->gru[l].kx > kmax ? m->gru[l].kx : kmax;
    return kmax;
}

/* Every GRU layer, one step; scratch holds the first layer's input operand (max kx entries) | GRU work */
static void eg_step_layers(const eg_model_t *m, int16_t *state, int32_t *scratch, int32_t fold_row)
{
    int32_t l, off = 0, kmax = eg_kmax(m);
    int32_t *vx = scratch;
    for (l = 0; l < m->n_gru; ++l) {
        const eg_gru_t *g = &m->gru[l];
        eg_gru_step(m, g, state + off, vx, scratch + kmax, l == 0 ? fold_row : -1);
        if (l + 1 < m->n_gru) eg_vec_from16(vx, state + off, g->units, m->gru[l + 1].kx);
        off += g->units;
    }
}

void eg_step(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t *scratch)
{
    /* a folded export has no input weights (its model.h refuses eg_step): the state is kept; a window model
     * cannot stream (its model.h refuses eg_step too) */
    if (!EG_USE_FEATURES || !m->gru[0].W || (EG_USE_WINDOW && m->window)) return;
#if EG_DSP_PLAN
    if (eg_dsp_run(m, state, x_q, 1, scratch)) return;     /* one step of the one-layer loop (edge_gru_run.h) */
#elif EG_V6M_PLAN
    if (eg_v6m_run(m, state, x_q, 1, scratch)) return;
#endif
    eg_vec_from16(scratch, x_q, m->features, m->gru[0].kx);
    eg_step_layers(m, state, scratch, -1);
}

/* The operand of an int8 table row (a_bits 8): same values as eg_vec_from16 of the row widened */
static void eg_vec_from8(int32_t *v, const int8_t *src, int32_t n, int32_t K)
{
    int32_t k = 0;
#if EG_DSP
    uint32_t *w = (uint32_t *)v;
    EG_NO_UNROLL for (; k + 1 < n; k += 2) *w++ = ((uint32_t)(int32_t)src[k] & 0xFFFFu) | ((uint32_t)(int32_t)src[k + 1] << 16);
    if (k < n) {
        *w++ = (uint32_t)(int32_t)src[k] & 0xFFFFu;
        k += 2;
    }
    EG_NO_UNROLL for (; k < K; k += 2) *w++ = 0;
#else
    EG_NO_UNROLL for (; k < n; ++k) eg_vset(v, k, src[k]);
    EG_NO_UNROLL for (; k < K; ++k) eg_vset(v, k, 0);
#endif
}

int32_t eg_step_token(const eg_model_t *m, int16_t *state, int32_t id, int32_t *scratch)
{
    const int32_t F = m->features;
    if ((!EG_USE_TABLE && !EG_USE_FOLD) || (!m->embedding && !m->fold) || id < 0 || id >= m->vocab) return -1;
    if (EG_USE_WINDOW && m->window) return -1;                              /* cannot stream: eg_run_tokens */
    if (id == 0 && m->mask_zero) return 0;                                   /* masked step: h = h_tm1 */
    if (EG_USE_FOLD && m->fold) {
        eg_step_layers(m, state, scratch, id);
        return 1;
    }
    if (!EG_USE_TABLE) return -1;
    /* x = embedding[id]: the table holds x_q = clamp(round(x / s_x)) */
    if (EG_A8(m))
        eg_vec_from8(scratch, (const int8_t *)m->embedding + id * F, F, m->gru[0].kx);
    else
        eg_vec_from16(scratch, (const int16_t *)m->embedding + id * F, F, m->gru[0].kx);
    eg_step_layers(m, state, scratch, -1);
    return 1;
}

#include "edge_gru_window.h"   /* Bidirectional and go_backwards models: a whole window at a time */

void eg_output(const eg_model_t *m, const int16_t *state, int32_t *out, int32_t *scratch)
{
#if EG_USE_WINDOW
    eg_head(m, eg_last_output(m, state, scratch), out, scratch);
#else
    const int32_t width = m->gru[m->n_gru - 1].units;
    int32_t i;
    EG_NO_UNROLL for (i = 0; i < width; ++i) scratch[i] = state[m->state_len - width + i];
    eg_head(m, width, out, scratch);
#endif
}

int32_t eg_run_tokens(const eg_model_t *m, int16_t *state, const int32_t *ids, int32_t T, int32_t *out,
                      int32_t *scratch)
{
    int32_t t, ran = 0, r = 0;
#if EG_USE_WINDOW
    if (m->window) return eg_window_run(m, state, 0, ids, T, out, 0, scratch);
#endif
    eg_reset(m, state);
    for (t = 0; t < T && r >= 0; ++t) {
        r = eg_step_token(m, state, ids[t], scratch);
        ran += r > 0;
    }
    eg_output(m, state, out, scratch);
    return r < 0 ? -1 : ran;
}

#if EG_USE_PER_STEP
void eg_run_seq(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T, int32_t *out, int32_t *scratch)
{
    int32_t t;
#if EG_USE_WINDOW
    if (m->window) {
        eg_window_run(m, state, x_q, 0, T, out, 1, scratch);
        return;
    }
#endif
    eg_reset(m, state);
    for (t = 0; t < T; ++t) {
        eg_step(m, state, x_q + t * m->features, scratch);
        eg_output(m, state, out + t * m->output_dim, scratch);
    }
}

int32_t eg_run_tokens_seq(const eg_model_t *m, int16_t *state, const int32_t *ids, int32_t T, int32_t *out,
                          int32_t *scratch)
{
    int32_t t, ran = 0, r;
#if EG_USE_WINDOW
    if (m->window) return eg_window_run(m, state, 0, ids, T, out, 1, scratch);
#endif
    eg_reset(m, state);
    for (t = 0; t < T; ++t) {
        r = eg_step_token(m, state, ids[t], scratch);
        if (r < 0) return -1;
        ran += r;
        eg_output(m, state, out + t * m->output_dim, scratch);
    }
    return ran;
}
#endif

int32_t eg_argmax(const int32_t *out, int32_t n)
{
    int32_t i, best = 0;
    EG_NO_UNROLL for (i = 1; i < n; ++i) if (out[i] > out[best]) best = i;
    return best;
}

void eg_run(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T, int32_t *out, int32_t *scratch)
{
    int32_t t;
#if EG_USE_WINDOW
    if (m->window) {
        eg_window_run(m, state, x_q, 0, T, out, 0, scratch);
        return;
    }
#endif
    eg_reset(m, state);
#if EG_DSP_PLAN
    if (!eg_dsp_run(m, state, x_q, T, scratch))
#elif EG_V6M_PLAN
    if (!eg_v6m_run(m, state, x_q, T, scratch))
#endif
        for (t = 0; t < T; ++t) eg_step(m, state, x_q + (int32_t)t * m->features, scratch);
    eg_output(m, state, out, scratch);
}

/* Whether this build holds the DSP int8 kernel's path of a product (EG_USE_I8_*, EG_PAIRS_K*; every path off the DSP
 * cores). */
static int32_t eg_i8_path(const eg_model_t *m, const eg_gru_t *g, int32_t K, int fast)
{
    if (!EG_DSP || m->w_bits == 16 || g->acc64 || g->layout == EG_LAYOUT_ROWS) return 1;
    if (!fast) return EG_USE_I8_GENERIC;
    if (g->layout == EG_LAYOUT_PAIRS && EG_PAIRS_EXACT(K)) return 1;
    switch (K & 6) {
    case 0: return EG_USE_I8_K0;
    case 2: return EG_USE_I8_K2;
    case 4: return EG_USE_I8_K4;
    default: return EG_USE_I8_K6;
    }
}

int32_t eg_supports(const eg_model_t *m)
{
    int32_t l;
    if ((m->w_bits == 16 ? !EG_USE_W16 : !EG_USE_W8) || (m->a_bits == 8 ? !EG_USE_A8 : !EG_USE_A16)) return 0;
    if (m->fold ? !EG_USE_FOLD : m->embedding ? !EG_USE_TABLE : !EG_USE_FEATURES) return 0;
    if (m->n_dense && !EG_USE_DENSE) return 0;
    EG_NO_UNROLL for (l = 0; l < m->n_gru; ++l) {
        const eg_gru_t *g = &m->gru[l];
        if (g->acc64 ? !EG_USE_ACC64 : !EG_USE_ACC32) return 0;
        if (g->reset_after ? !EG_USE_AFTER : !EG_USE_BEFORE) return 0;
        if (g->layout == EG_LAYOUT_ROWS ? !EG_USE_ROWS : g->layout == EG_LAYOUT_PAIRS ? !EG_USE_PAIRS : !EG_USE_BLOCKS)
            return 0;
        if (g->layout == EG_LAYOUT_PAIRS && m->w_bits == 16) return 0;      /* int8 weights only */
        if (g->W && !eg_i8_path(m, g, g->kx, g->use_bias && g->rqx)) return 0;
        if (!eg_i8_path(m, g, g->kh, g->reset_after && g->use_bias && g->rqh)) return 0;
    }
    EG_NO_UNROLL for (l = 0; l < m->n_dense; ++l)
        if (m->dense[l].acc64 ? !EG_USE_ACC64 : !EG_USE_ACC32) return 0;
    return 1;
}
