/* edge-gru on-device runtime. Each line names the float equation it computes
 * (edge_gru/float_ref.py); rounding and saturation rules: edge_gru/fixed/kernels.py. */
#include "edge_gru.h"

/* floor(v / 2^n) without relying on implementation-defined shifts of negative values */
static int64_t eg_asr(int64_t v, int n) { return v >= 0 ? (v >> n) : ~((~v) >> n); }
static int64_t eg_rshift_round(int64_t v, int n) { return eg_asr(v + ((int64_t)1 << (n - 1)), n); }
static int64_t eg_requant(int64_t acc, int32_t m, int32_t n) { return eg_rshift_round(acc * (int64_t)m, n); }
static int64_t eg_sat(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

static int64_t eg_act(const int16_t *tab, int64_t v)
{
    int64_t u = v + 32768, idx = u >> 7, frac = u & 127;
    int64_t t0 = tab[idx], t1 = tab[idx + 1];
    return t0 + eg_rshift_round((t1 - t0) * frac, 7);
}

static int64_t eg_to_state(int64_t h16, int shift, int64_t qmax)
{
    return eg_sat(shift ? eg_rshift_round(h16, shift) : h16, -qmax, qmax);
}

static int32_t eg_w(const void *W, int w16, int32_t i) { return w16 ? ((const int16_t *)W)[i] : ((const int8_t *)W)[i]; }
static int64_t eg_b(const void *b, int acc64, int32_t i) { return acc64 ? ((const int64_t *)b)[i] : ((const int32_t *)b)[i]; }

/* out[j] = requant(bias[col0 + j] + sum_i v[i] * W[i, col0 + j]) for j < ncols (W has `stride` columns) */
static void eg_matvec(int32_t *out, const int32_t *v, int32_t nin, const void *W, int w16, int32_t stride,
                      int32_t col0, int32_t ncols, const void *bias, int use_bias, int acc64,
                      const int32_t *mul, const int32_t *sh)
{
    int32_t i, j;
    for (j = 0; j < ncols; ++j) {
        int32_t c = col0 + j;
        if (acc64) {
            int64_t acc = use_bias ? eg_b(bias, 1, c) : 0;
            for (i = 0; i < nin; ++i) acc += (int64_t)eg_w(W, w16, i * stride + c) * v[i];
            out[j] = (int32_t)eg_requant(acc, mul[c], sh[c]);   /* fits: proved at quantization */
        } else {
            int32_t acc = use_bias ? (int32_t)eg_b(bias, 0, c) : 0;
            for (i = 0; i < nin; ++i) acc += eg_w(W, w16, i * stride + c) * v[i];
            out[j] = (int32_t)eg_requant(acc, mul[c], sh[c]);
        }
    }
}

/* scratch (int32): h (H) | rh (H) | z (H) | gx (3H) | gh (3H) */
static void eg_gru_step(const eg_model_t *m, const eg_gru_t *g, int16_t *h_state, const int32_t *x, int32_t *scratch)
{
    const int32_t H = g->units, F = g->input_dim, w16 = m->w_bits == 16;
    const int shift = 16 - m->a_bits;
    const int64_t qmax = (m->a_bits == 8) ? 127 : 32767;
    int32_t *h = scratch, *rh = scratch + H, *z = scratch + 2 * H, *gx = scratch + 3 * H, *gh = scratch + 6 * H;
    int32_t k;
    for (k = 0; k < H; ++k) h[k] = h_state[k];
    /* x_all = x W + b_i  -> Q3.12 */
    eg_matvec(gx, x, F, g->W, w16, 3 * H, 0, 3 * H, g->b_i, g->use_bias, g->acc64, g->mx, g->nx);
    if (g->reset_after) {
        /* h_all = h_tm1 U + b_h  -> Q3.12 */
        eg_matvec(gh, h, H, g->U, w16, 3 * H, 0, 3 * H, g->b_h, g->use_bias, g->acc64, g->mh, g->nh);
        for (k = 0; k < H; ++k) {
            int64_t r, r_hu;
            z[k] = (int32_t)eg_act(m->sig_tab, eg_sat((int64_t)gx[k] + gh[k], -32768, 32767)); /* z = sigmoid(x_z + h_tm1 U_z) */
            r = eg_act(m->sig_tab, eg_sat((int64_t)gx[H + k] + gh[H + k], -32768, 32767));     /* r = sigmoid(x_r + h_tm1 U_r) */
            r_hu = eg_rshift_round(r * eg_sat(gh[2 * H + k], -32768, 32767), 15);     /* r * (h_tm1 U_h + b_hh) */
            gx[2 * H + k] = (int32_t)eg_sat(gx[2 * H + k] + r_hu, -32768, 32767);     /* x_h + r * (...) */
        }
    } else {
        eg_matvec(gh, h, H, g->U, w16, 3 * H, 0, 2 * H, g->b_h, 0, g->acc64, g->mh, g->nh);
        for (k = 0; k < H; ++k) {
            int64_t r;
            z[k] = (int32_t)eg_act(m->sig_tab, eg_sat((int64_t)gx[k] + gh[k], -32768, 32767)); /* z = sigmoid(x_z + h_tm1 U_z) */
            r = eg_act(m->sig_tab, eg_sat((int64_t)gx[H + k] + gh[H + k], -32768, 32767));     /* r = sigmoid(x_r + h_tm1 U_r) */
            rh[k] = (int32_t)eg_rshift_round(r * h[k], 15);                           /* r * h_tm1 */
        }
        eg_matvec(gh + 2 * H, rh, H, g->U, w16, 3 * H, 2 * H, H, g->b_h, 0, g->acc64, g->mh, g->nh); /* (r*h_tm1) U_h */
        for (k = 0; k < H; ++k) gx[2 * H + k] = (int32_t)eg_sat((int64_t)gx[2 * H + k] + gh[2 * H + k], -32768, 32767);
    }
    for (k = 0; k < H; ++k) {
        int64_t hh = eg_act(m->tanh_tab, gx[2 * H + k]);                              /* hh = tanh(...) */
        int64_t h_tm1 = (int64_t)h[k] * ((int64_t)1 << shift);
        int64_t h16 = hh + eg_rshift_round((int64_t)z[k] * (h_tm1 - hh), 15);                  /* h = hh + z * (h_tm1 - hh) */
        h_state[k] = (int16_t)eg_to_state(h16, shift, qmax);
    }
}

void eg_reset(const eg_model_t *m, int16_t *state)
{
    int32_t i;
    for (i = 0; i < m->state_len; ++i) state[i] = 0;
}

void eg_step(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t *scratch)
{
    int32_t l, i, off = 0, width = m->features;
    int32_t *v = scratch;   /* scratch thirds: layer input | GRU work (9H) | spare */
    for (i = 0; i < width; ++i) v[i] = x_q[i];
    for (l = 0; l < m->n_gru; ++l) {
        const eg_gru_t *g = &m->gru[l];
        eg_gru_step(m, g, state + off, v, scratch + m->scratch_len / 3);
        for (i = 0; i < g->units; ++i) v[i] = state[off + i];
        width = g->units;
        off += g->units;
    }
}

void eg_output(const eg_model_t *m, const int16_t *state, int32_t *out, int32_t *scratch)
{
    int32_t l, i, width, off = m->state_len - m->gru[m->n_gru - 1].units;
    const int64_t qmax = (m->a_bits == 8) ? 127 : 32767;
    int32_t *v = scratch, *y = scratch + m->scratch_len / 3, *w = scratch + 2 * (m->scratch_len / 3);
    width = m->gru[m->n_gru - 1].units;
    for (i = 0; i < width; ++i) v[i] = state[off + i];
    for (l = 0; l < m->n_dense; ++l) {
        const eg_dense_t *d = &m->dense[l];
        eg_matvec(y, v, width, d->W, m->w_bits == 16, d->units, 0, d->units, d->b, d->use_bias, d->acc64, d->m, d->n);
        for (i = 0; i < d->units; ++i) {
            int64_t t = y[i];
            if (d->mode == 1) {
                t = eg_to_state(eg_act(m->sig_tab, eg_sat(t, -32768, 32767)), 16 - m->a_bits, qmax); /* sigmoid */
            } else {
                t = eg_sat(t, -qmax, qmax);
                if (d->relu && t < 0) t = 0;                                                         /* relu */
            }
            w[i] = (int32_t)t;
        }
        for (i = 0; i < d->units; ++i) v[i] = w[i];
        width = d->units;
    }
    for (i = 0; i < width; ++i) out[i] = v[i];
}

void eg_run(const eg_model_t *m, int16_t *state, const int16_t *x_q, int32_t T, int32_t *out, int32_t *scratch)
{
    int32_t t;
    eg_reset(m, state);
    for (t = 0; t < T; ++t) eg_step(m, state, x_q + (int64_t)t * m->features, scratch);
    eg_output(m, state, out, scratch);
}
