/* edge-gru Helium (MVE) kernels for Armv8.1-M (Cortex-M55). Included by edge_gru.c when it is built with MVE;
 * they use that file's integer primitives (eg_requant4, eg_requant), so the integers are those of the other
 * paths (edge_gru/fixed/kernels.py defines them).
 *
 * Matrix products of the rows layout (edge_gru.h, EG_LAYOUT_ROWS): out[j] = requant(bias[j] + sum_k v[k] W[k, j])
 * (x_all = x W + b_i, h_all = h_tm1 U + b_h), 4 columns per pass. Each 8 inputs are loaded once (VLDRH, int16
 * lanes, tail predicated by VCTP) and meet the 8 weights of each of the 4 columns, which follow each other in the
 * layout (one pointer, VLDRB.S16 widening int8 weights or VLDRH), in one VMLADAVA (int32 accumulator) or
 * VMLALDAVA (64-bit, when int32 was not proved safe). The SMMULR requantization of 4 columns is one VRMULH.
 *
 * Gates and state update (reset_after = True) on 4 units per vector: the table activation's two lookups are
 * gather loads (VLDRH.S32 [tab, idx, UXTW #1]), rshift_round is VRSHR, the saturations VMIN/VMAX. */
#ifndef EDGE_GRU_MVE_H
#define EDGE_GRU_MVE_H

/* a_c = bias[c] (0 without bias), for the 4 columns of block b */
#define EG_MVE_BIAS4(bias, b)                                                                        \
    if (bias) {                                                                                      \
        a0 = (bias)[4 * (b)];                                                                        \
        a1 = (bias)[4 * (b) + 1];                                                                    \
        a2 = (bias)[4 * (b) + 2];                                                                    \
        a3 = (bias)[4 * (b) + 3];                                                                    \
    }

/* out[0..3] = requant(a_c, m, n): one VRMULH (= SMMULR with M = m 2^(32-n)) when rq is given, else eg_requant4 */
static EG_INLINE void eg_requant4_mve(int32_t *out, int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *rq,
                                      const int32_t *mul, const int32_t *sh)
{
    if (rq) {
        int32x4_t acc = vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);
        vst1q_s32(out, vrmulhq_s32(acc, vld1q_s32(rq)));
    } else {
        eg_requant4(out, a0, a1, a2, a3, mul, sh, 0);
    }
}

/* One pass of 4 columns over K inputs: accumulators a0..a3, weights at wp (type WT, advanced past the pass). */
#define EG_MVE_PASS(WT, LOADW, MAC)                                                                  \
    do {                                                                                             \
        const int16_t *xp = x;                                                                       \
        const WT *w = (const WT *)wp;                                                                \
        int32_t k;                                                                                   \
        for (k = K; k > 0; k -= 8) {                                                                 \
            int16x8_t xv = vldrhq_z_s16(xp, vctp16q((uint32_t)k));   /* 8 values of v (0 past K) */  \
            a0 = MAC(a0, LOADW(w), xv);                              /* a_c += sum v[k] W[k, c] */   \
            a1 = MAC(a1, LOADW(w + 8), xv);                                                          \
            a2 = MAC(a2, LOADW(w + 16), xv);                                                         \
            a3 = MAC(a3, LOADW(w + 24), xv);                                                         \
            xp += 8;                                                                                 \
            w += 32;                                                                                 \
        }                                                                                            \
        wp = w;                                                                                      \
    } while (0)

#define EG_MVE_LOAD8(w) vldrbq_s16(w)
#define EG_MVE_LOAD16(w) vldrhq_s16(w)

/* The common case (bias, every shift in [16, 32]) with more than 32 inputs, one function per weight width: the
 * first 32 inputs stay in 4 vector registers for every block (as in EG_MVE_SMALL below), the rest run a
 * tail-predicated loop (DLSTP/LETP: every load predicated by the same VCTP); VRMULH requantization. */
#define EG_MVE_FAST(NAME, WT, LOADW, LOADW_Z)                                                        \
    static EG_NOINLINE void NAME(int32_t *out, const int16_t *x, int32_t K, const WT *w, int32_t nb, \
                                 const int32_t *bias, const int32_t *rq)                             \
    {                                                                                                \
        const int16x8_t x0 = vld1q_s16(x), x1 = vld1q_s16(x + 8), x2 = vld1q_s16(x + 16),            \
                        x3 = vld1q_s16(x + 24);                         /* inputs 0..31 */           \
        const int32_t *end = out + 4 * nb;                                                           \
        do {                                                                                         \
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3], k;                       \
            const int16_t *xp = x + 32;                                                              \
            EG_MVE_CHUNK(0, LOADW) EG_MVE_CHUNK(1, LOADW) EG_MVE_CHUNK(2, LOADW) EG_MVE_CHUNK(3, LOADW) \
            w += 128;                                                                                \
            for (k = K - 32; k > 0; k -= 8) {                                                        \
                mve_pred16_t p = vctp16q((uint32_t)k);                                               \
                int16x8_t xv = vldrhq_z_s16(xp, p);                     /* 8 values of v */          \
                a0 = vmladavaq_s16(a0, LOADW_Z(w, p), xv);              /* a_c += sum v[k] W[k, c] */\
                a1 = vmladavaq_s16(a1, LOADW_Z(w + 8, p), xv);                                       \
                a2 = vmladavaq_s16(a2, LOADW_Z(w + 16, p), xv);                                      \
                a3 = vmladavaq_s16(a3, LOADW_Z(w + 24, p), xv);                                      \
                xp += 8;                                                                             \
                w += 32;                                                                             \
            }                                                                                        \
            eg_requant4_mve(out, a0, a1, a2, a3, rq, 0, 0);              /* requant(acc, m, n) */     \
            out += 4;                                                                                \
            bias += 4;                                                                               \
            rq += 4;                                                                                 \
        } while (out < end);                                                                         \
    }

/* The common case with at most 32 inputs (N chunks of 8): v stays in N vector registers for every block, so a
 * block is its 4 N weight loads and VMLADAVAs, the bias and one VRMULH, without a loop of its own. */
#define EG_MVE_CHUNK(i, LOADW)                                                                       \
    a0 = vmladavaq_s16(a0, LOADW(w + 32 * (i)), x##i);                  /* a_c += sum v[k] W[k, c] */\
    a1 = vmladavaq_s16(a1, LOADW(w + 32 * (i) + 8), x##i);                                           \
    a2 = vmladavaq_s16(a2, LOADW(w + 32 * (i) + 16), x##i);                                          \
    a3 = vmladavaq_s16(a3, LOADW(w + 32 * (i) + 24), x##i);
#define EG_MVE_SMALL(NAME, WT, LOADW, N, CHUNKS)                                                     \
    static EG_NOINLINE void NAME(int32_t *out, const int16_t *x, int32_t K, const WT *w, int32_t nb, \
                                 const int32_t *bias, const int32_t *rq)                             \
    {                                                                                                \
        const int16x8_t x0 = vldrhq_z_s16(x, vctp16q((uint32_t)K));      /* v, 0 past K */            \
        const int16x8_t x1 = N > 1 ? vldrhq_z_s16(x + 8, vctp16q((uint32_t)(K - 8))) : x0;          \
        const int16x8_t x2 = N > 2 ? vldrhq_z_s16(x + 16, vctp16q((uint32_t)(K - 16))) : x0;        \
        const int16x8_t x3 = N > 3 ? vldrhq_z_s16(x + 24, vctp16q((uint32_t)(K - 24))) : x0;        \
        const int32_t *end = out + 4 * nb;                                                           \
        (void)x1; (void)x2; (void)x3;                                                                \
        do {                                                                                         \
            int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];                          \
            CHUNKS                                                                                   \
            eg_requant4_mve(out, a0, a1, a2, a3, rq, 0, 0);              /* requant(acc, m, n) */     \
            w += 32 * (N);                                                                           \
            out += 4;                                                                                \
            bias += 4;                                                                               \
            rq += 4;                                                                                 \
        } while (out < end);                                                                         \
    }
#define EG_MVE_C1(L) EG_MVE_CHUNK(0, L)
#define EG_MVE_C2(L) EG_MVE_CHUNK(0, L) EG_MVE_CHUNK(1, L)
#define EG_MVE_C3(L) EG_MVE_CHUNK(0, L) EG_MVE_CHUNK(1, L) EG_MVE_CHUNK(2, L)
#define EG_MVE_C4(L) EG_MVE_CHUNK(0, L) EG_MVE_CHUNK(1, L) EG_MVE_CHUNK(2, L) EG_MVE_CHUNK(3, L)
EG_MVE_SMALL(eg_matrix_mve_k8_8, int8_t, vldrbq_s16, 1, EG_MVE_C1(vldrbq_s16))
EG_MVE_SMALL(eg_matrix_mve_k16_8, int8_t, vldrbq_s16, 2, EG_MVE_C2(vldrbq_s16))
EG_MVE_SMALL(eg_matrix_mve_k24_8, int8_t, vldrbq_s16, 3, EG_MVE_C3(vldrbq_s16))
EG_MVE_SMALL(eg_matrix_mve_k32_8, int8_t, vldrbq_s16, 4, EG_MVE_C4(vldrbq_s16))
EG_MVE_SMALL(eg_matrix_mve_k8_16, int16_t, vldrhq_s16, 1, EG_MVE_C1(vldrhq_s16))
EG_MVE_SMALL(eg_matrix_mve_k16_16, int16_t, vldrhq_s16, 2, EG_MVE_C2(vldrhq_s16))
EG_MVE_SMALL(eg_matrix_mve_k24_16, int16_t, vldrhq_s16, 3, EG_MVE_C3(vldrhq_s16))
EG_MVE_SMALL(eg_matrix_mve_k32_16, int16_t, vldrhq_s16, 4, EG_MVE_C4(vldrhq_s16))
EG_MVE_FAST(eg_matrix_mve_fast8, int8_t, vldrbq_s16, vldrbq_z_s16)
EG_MVE_FAST(eg_matrix_mve_fast16, int16_t, vldrhq_s16, vldrhq_z_s16)

/* int32 accumulators (overflow ruled out at quantization), int8 or int16 weights */
static EG_NOINLINE void eg_matrix_mve32(int32_t *out, const int16_t *x, int32_t K, const void *W, int w16, int32_t nb,
                                        const int32_t *bias, const int32_t *mul, const int32_t *sh, const int32_t *rq)
{
    const void *wp = W;
    int32_t b;
    for (b = 0; b < nb; ++b, out += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        EG_MVE_BIAS4(bias, b)
        if (w16)
            EG_MVE_PASS(int16_t, EG_MVE_LOAD16, vmladavaq_s16);
        else
            EG_MVE_PASS(int8_t, EG_MVE_LOAD8, vmladavaq_s16);
        eg_requant4_mve(out, a0, a1, a2, a3, rq ? rq + 4 * b : 0, mul + 4 * b, sh + 4 * b);   /* requant(...) */
    }
}

/* 64-bit accumulators (VMLALDAVA), then requant(acc, m, n) per column */
static EG_NOINLINE void eg_matrix_mve64(int32_t *out, const int16_t *x, int32_t K, const void *W, int w16, int32_t nb,
                                        const int64_t *bias, const int32_t *mul, const int32_t *sh)
{
    const void *wp = W;
    int32_t b, c;
    for (b = 0; b < nb; ++b) {
        int64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        EG_MVE_BIAS4(bias, b)
        if (w16)
            EG_MVE_PASS(int16_t, EG_MVE_LOAD16, vmlaldavaq_s16);
        else
            EG_MVE_PASS(int8_t, EG_MVE_LOAD8, vmlaldavaq_s16);
        {
            const int64_t a[4] = {a0, a1, a2, a3};
            for (c = 0; c < 4; ++c)
                out[4 * b + c] = (int32_t)eg_requant(a[c], mul[4 * b + c], sh[4 * b + c]);   /* fits: proved */
        }
    }
}

/* w8a8 (chunks of 16): 16 MACs per VMLADAVA.S8. The operand arrives as int16 values; 16 of them become one int8
 * vector through VMOVNB (inputs 0..7 to the even bytes) and VMOVNT (8..15 to the odd bytes), the order in which
 * the layout stores a column's 16 weights. n: the values left from x (none past K are read). */
static EG_INLINE int8x16_t eg_x8_mve(const int16_t *x, int32_t n)
{
    int16x8_t lo = vldrhq_z_s16(x, vctp16q((uint32_t)(n > 0 ? n : 0)));
    int16x8_t hi = vldrhq_z_s16(x + 8, vctp16q((uint32_t)(n > 8 ? n - 8 : 0)));
    return vmovntq_s16(vmovnbq_s16(vdupq_n_s8(0), lo), hi);
}

#define EG_MVE_S8_CHUNK(xv, at)                                                                      \
    a0 = vmladavaq_s8(a0, vldrbq_s8(w + (at)), xv);                        /* a_c += sum v[k] W[k, c] */\
    a1 = vmladavaq_s8(a1, vldrbq_s8(w + (at) + 16), xv);                                             \
    a2 = vmladavaq_s8(a2, vldrbq_s8(w + (at) + 32), xv);                                             \
    a3 = vmladavaq_s8(a3, vldrbq_s8(w + (at) + 48), xv);

static EG_NOINLINE void eg_matrix_mve_s8(int32_t *out, const int16_t *x, int32_t K, const int8_t *w, int32_t nb,
                                         const int32_t *bias, const int32_t *mul, const int32_t *sh, const int32_t *rq)
{
    const int8x16_t x0 = eg_x8_mve(x, K), x1 = eg_x8_mve(x + 16, K - 16);   /* inputs 0..31 stay in registers */
    int32_t b;
    for (b = 0; b < nb; ++b, out += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, k;
        EG_MVE_BIAS4(bias, b)
        EG_MVE_S8_CHUNK(x0, 0)
        if (K > 16) {
            EG_MVE_S8_CHUNK(x1, 64)
        }
        w += K > 16 ? 128 : 64;
        for (k = K - 32; k > 0; k -= 16) {
            const int8x16_t xv = eg_x8_mve(x + K - k, k);
            EG_MVE_S8_CHUNK(xv, 0)
            w += 64;
        }
        eg_requant4_mve(out, a0, a1, a2, a3, rq ? rq + 4 * b : 0, mul + 4 * b, sh + 4 * b);   /* requant(...) */
    }
}

/* The rows-layout product: nb blocks of 4 columns starting at W (bias, mul, sh, rq already offset); chunk: 8 or 16. */
static EG_INLINE void eg_matrix_mve(int32_t *out, const int16_t *x, int32_t K, const void *W, int w16, int32_t nb,
                          const void *bias, int acc64, const int32_t *mul, const int32_t *sh, const int32_t *rq,
                          int32_t chunk)
{
    if (chunk == 16)
        eg_matrix_mve_s8(out, x, K, (const int8_t *)W, nb, (const int32_t *)bias, mul, sh, rq);
    else if (acc64)
        eg_matrix_mve64(out, x, K, W, w16, nb, (const int64_t *)bias, mul, sh);
    else if (bias && rq) {
        const int32_t *b = (const int32_t *)bias;
        const int8_t *w8 = (const int8_t *)W;
        const int16_t *w16p = (const int16_t *)W;
        switch (K <= 32 ? (K + 7) / 8 : 0) {
        case 1: w16 ? eg_matrix_mve_k8_16(out, x, K, w16p, nb, b, rq) : eg_matrix_mve_k8_8(out, x, K, w8, nb, b, rq); break;
        case 2: w16 ? eg_matrix_mve_k16_16(out, x, K, w16p, nb, b, rq) : eg_matrix_mve_k16_8(out, x, K, w8, nb, b, rq); break;
        case 3: w16 ? eg_matrix_mve_k24_16(out, x, K, w16p, nb, b, rq) : eg_matrix_mve_k24_8(out, x, K, w8, nb, b, rq); break;
        case 4: w16 ? eg_matrix_mve_k32_16(out, x, K, w16p, nb, b, rq) : eg_matrix_mve_k32_8(out, x, K, w8, nb, b, rq); break;
        default:
            if (w16)
                eg_matrix_mve_fast16(out, x, K, w16p, nb, b, rq);
            else
                eg_matrix_mve_fast8(out, x, K, w8, nb, b, rq);
        }
    }
    else
        eg_matrix_mve32(out, x, K, W, w16, nb, (const int32_t *)bias, mul, sh, rq);
}

/* ---- gates and state update, 4 units per vector ---------------------------------------------------------- */

static EG_INLINE int32x4_t eg_sat16_mve(int32x4_t v)                       /* sat(v, -32768, 32767) */
{
    return vmaxq_s32(vminq_s32(v, vdupq_n_s32(32767)), vdupq_n_s32(-32768));
}


/* reset_after = True: z, r, and the candidate's pre-activation x_h + r * (h_tm1 U_h + b_hh) (see eg_cand_after in edge_gru.c),
 * for 4 units at k. LD loads 4 int32, GATHER looks up a table, ST stores: unpredicated in the main loop, predicated
 * by p for the last units. */
#define EG_GATES_AFTER_4(LD, GATHER, ST)                                                             \
    do {                                                                                             \
        int32x4_t zk = EG_ACT(sig, eg_sat16_mve(vaddq_s32(LD(gx + k), LD(gh + k))), GATHER);         \
        /* z = sigmoid(x_z + h_tm1 U_z) */                                                           \
        int32x4_t r = EG_ACT(sig, eg_sat16_mve(vaddq_s32(LD(gx + H + k), LD(gh + H + k))), GATHER);  \
        /* r = sigmoid(x_r + h_tm1 U_r) */                                                           \
        int32x4_t r_hu = vrshrq_n_s32(vmulq_s32(r, eg_sat16_mve(LD(gh + hoff + k))), 15);   /* r * (...) */ \
        int32x4_t xh = vmaxq_s32(vminq_s32(LD(gx + hoff + k), vdupq_n_s32((1 << 20) - 1)),         \
                                 vdupq_n_s32(-(1 << 20)));                  /* exact: |r_hu| <= 2^15 */ \
        ST(z + k, zk);                                                                               \
        ST(gx + hoff + k, eg_sat16_mve(vaddq_s32(xh, r_hu)));              /* x_h + r * (...) */     \
    } while (0)

/* act(tab, v) of 4 Q3.12 values in int16 range -> Q0.15 (kernels.py: act): u = v + 32768, idx = u >> 7,
 * frac = u & 127, tab[idx] + rshift_round((tab[idx + 1] - tab[idx]) * frac, 7); the table lookups are gathers,
 * all lanes (EG_GATHER) or the lanes of p (EG_GATHERP) */
static EG_INLINE int32x4_t eg_act_tail(int32x4_t u, int32x4_t t0, int32x4_t t1)
{
    return vaddq_s32(t0, vrshrq_n_s32(vmulq_s32(vsubq_s32(t1, t0), vandq_s32(u, vdupq_n_s32(127))), 7));
}
static EG_INLINE uint32x4_t eg_act_index(int32x4_t u) { return vreinterpretq_u32_s32(vshrq_n_s32(u, 7)); }
static EG_INLINE int32x4_t eg_act_all(const int16_t *tab, int32x4_t v)
{
    int32x4_t u = vaddq_n_s32(v, 32768);
    uint32x4_t idx = eg_act_index(u);
    return eg_act_tail(u, vldrhq_gather_shifted_offset_s32(tab, idx), vldrhq_gather_shifted_offset_s32(tab + 1, idx));
}
static EG_INLINE int32x4_t eg_act_pred(const int16_t *tab, int32x4_t v, mve_pred16_t p)
{
    int32x4_t u = vaddq_n_s32(v, 32768);
    uint32x4_t idx = eg_act_index(u);
    return eg_act_tail(u, vldrhq_gather_shifted_offset_z_s32(tab, idx, p),
                       vldrhq_gather_shifted_offset_z_s32(tab + 1, idx, p));
}
#define EG_ACT(tab, v, GATHER) GATHER(tab, v)

#define EG_LD(a) vldrwq_s32(a)
#define EG_LDP(a) vldrwq_z_s32((a), p)
#define EG_GATHER(t, v) eg_act_all((t), (v))
#define EG_GATHERP(t, v) eg_act_pred((t), (v), p)
#define EG_ST(a, v) vstrwq_s32((a), (v))
#define EG_STP(a, v) vstrwq_p_s32((a), (v), p)

static EG_NOINLINE void eg_gates_after_mve(const eg_model_t *m, int32_t H, int32_t hoff, int32_t *gx, const int32_t *gh,
                                           int32_t *z)
{
    const int16_t *sig = m->sig_tab;
    int32_t k = 0;
    for (; k + 4 <= H; k += 4)
        EG_GATES_AFTER_4(EG_LD, EG_GATHER, EG_ST);
    if (k < H) {
        mve_pred16_t p = vctp32q((uint32_t)(H - k));
        EG_GATES_AFTER_4(EG_LDP, EG_GATHERP, EG_STP);
    }
}

/* hh = tanh(...), h = hh + z * (h_tm1 - hh), to the state format (see eg_update), for 4 units at k */
#define EG_UPDATE_4(LD, LDH, GATHER, STH)                                                            \
    do {                                                                                             \
        int32x4_t hh = EG_ACT(tab, LD(gxh + k), GATHER);                     /* hh = tanh(...) */     \
        int32x4_t h_tm1 = a8 ? vshlq_n_s32(LDH(h_state + k), 8) : LDH(h_state + k);   /* Q0.15 */    \
        int32x4_t h16 = vaddq_s32(hh, vrshrq_n_s32(vmulq_s32(LD(z + k), vsubq_s32(h_tm1, hh)), 15));   \
        /* h = hh + z * (h_tm1 - hh) */                                                              \
        STH(h_state + k, vmaxq_s32(vminq_s32(a8 ? vrshrq_n_s32(h16, 8) : h16, hi), lo));             \
    } while (0)
#define EG_LDH(a) vldrhq_s32(a)
#define EG_LDHP(a) vldrhq_z_s32((a), p)
#define EG_STH(a, v) vstrhq_s32((a), (v))
#define EG_STHP(a, v) vstrhq_p_s32((a), (v), p)

static EG_NOINLINE void eg_update_mve(const eg_model_t *m, int32_t H, const int32_t *gxh, const int32_t *z,
                                      int16_t *h_state)
{
    const int16_t *tab = m->tanh_tab;
    const int a8 = EG_A8(m);
    const int32x4_t hi = vdupq_n_s32(a8 ? 127 : 32767), lo = vdupq_n_s32(a8 ? -127 : -32767);
    int32_t k = 0;
    for (; k + 4 <= H; k += 4)
        EG_UPDATE_4(EG_LD, EG_LDH, EG_GATHER, EG_STH);
    if (k < H) {
        mve_pred16_t p = vctp32q((uint32_t)(H - k));
        EG_UPDATE_4(EG_LDP, EG_LDHP, EG_GATHERP, EG_STHP);
    }
}

/* The int16 state -> the matrix operand (int16 values in order, zero up to K): a copy on this path */
static void eg_vec_from16_mve(int32_t *v, const int16_t *src, int32_t n, int32_t K)
{
    int16_t *dst = (int16_t *)(void *)v;
    int32_t k;
    for (k = 0; k < K; k += 8) {
        mve_pred16_t in = vctp16q((uint32_t)(n > k ? n - k : 0)), all = vctp16q((uint32_t)(K - k));
        vstrhq_p_s16(dst + k, vldrhq_z_s16(src + k, in), all);
    }
}

#endif
