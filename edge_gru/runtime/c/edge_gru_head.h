/* edge-gru: the dense head after the last GRU layer (runs once per sequence, or per step for a per-step model).
 * Included by edge_gru.c after its integer primitives and activation tables' helpers. */
#ifndef EDGE_GRU_HEAD_H
#define EDGE_GRU_HEAD_H

/* ---- dense head (row-major (in, K) weights; runs once per sequence, or every step) ----------------- */

#if EG_USE_PER_STEP && EG_DSP
/* acc + sum_i w[i stride] v[i], int8 weights: a per-step model runs its head every step, so on the DSP cores four
 * products a turn (the loads pipeline, one loop test per four; on the M0+ the strided offsets cost more than they
 * save: a per-step GRU(16) x 13 with 10 classes 9.45 -> 9.75 cycles/MAC there, 3.88 -> 3.73 on the M4). The sum is
 * exact in int32 in any order (its bound, proved at quantization, holds for every partial sum: |v| <= qmax). */
static int32_t eg_dot8(const int8_t *w, int32_t stride, const int32_t *v, int32_t n, int32_t acc)
{
    int32_t i = 0;
    EG_NO_UNROLL for (; i + 4 <= n; i += 4, w += 4 * stride)
        acc += w[0] * v[i] + w[stride] * v[i + 1] + w[2 * stride] * v[i + 2] + w[3 * stride] * v[i + 3];
    EG_NO_UNROLL for (; i < n; ++i, w += stride) acc += w[0] * v[i];
    return acc;
}
#endif

static void eg_dense(int32_t *out, const int32_t *v, int32_t nin, const eg_dense_t *d, int w16)
{
    int32_t i, j;
    EG_NO_UNROLL for (j = 0; j < d->units; ++j) {
        int64_t y;
        if (EG_ACC64(d->acc64)) {
            int64_t acc = eg_bias64(d->b, d->use_bias, j);
            EG_NO_UNROLL for (i = 0; i < nin; ++i) {
                int32_t w = w16 ? ((const int16_t *)d->W)[i * d->units + j] : ((const int8_t *)d->W)[i * d->units + j];
                acc += (int64_t)w * v[i];
            }
            y = eg_requant(acc, d->m[j], d->n[j]);
        } else {   /* int32 accumulation proved safe at quantization: no 64-bit multiplies on small cores */
            int32_t acc = eg_bias32(d->b, d->use_bias, j);
#if EG_USE_PER_STEP && EG_DSP
            if (!w16) {
                y = eg_requant32(eg_dot8((const int8_t *)d->W + j, d->units, v, nin, acc), d->m[j], d->n[j]);
                out[j] = (int32_t)eg_sat(y, -((int64_t)1 << 30), (int64_t)1 << 30);
                continue;
            }
#endif
            EG_NO_UNROLL for (i = 0; i < nin; ++i) {
                int32_t w = w16 ? ((const int16_t *)d->W)[i * d->units + j] : ((const int8_t *)d->W)[i * d->units + j];
                acc += w * v[i];
            }
            y = eg_requant32(acc, d->m[j], d->n[j]);
        }
        out[j] = (int32_t)eg_sat(y, -((int64_t)1 << 30), (int64_t)1 << 30);
    }
}


/* The dense head on the last layer's output v = scratch[0 .. width) (scratch: v | y, D entries each) */
static void eg_head(const eg_model_t *m, int32_t width, int32_t *out, int32_t *scratch)
{
    int32_t l, i, D = width;
    const int32_t qmax = EG_A8(m) ? 127 : 32767, n_dense = EG_USE_DENSE ? m->n_dense : 0;
    int32_t *v = scratch, *y;
    EG_NO_UNROLL for (l = 0; l < n_dense; ++l) D = m->dense[l].units > D ? m->dense[l].units : D;
    y = scratch + D;
    for (l = 0; l < n_dense; ++l) {
        const eg_dense_t *d = &m->dense[l];
        eg_dense(y, v, width, d, EG_W16(m));
        EG_NO_UNROLL for (i = 0; i < d->units; ++i) {
            int32_t t = y[i];
            if (d->mode == EG_DENSE_SIGMOID) {
                t = eg_to_state(eg_act(m->sig_tab, eg_sat16(t)), 16 - m->a_bits, qmax);   /* sigmoid */
            } else {
                t = eg_sat32(t, -qmax, qmax);
                if (d->relu && t < 0) t = 0;                                               /* relu */
            }
            v[i] = t;
        }
        width = d->units;
    }
    EG_NO_UNROLL for (i = 0; i < width; ++i) out[i] = v[i];
}


#endif
