/* edge-gru runtime, part of edge_gru.c: models that need the whole sequence first (a Keras Bidirectional layer,
 * or a go_backwards GRU). They run layer by layer over the window: each direction over every step (the backward
 * one from the last step to the first), its states written as the layer's output sequence, the two directions
 * merged in place (edge_gru/fixed/directions.py gives the integers). The sequences live in two int16 buffers of
 * window * window_width entries after the step's scratch (model.h: EG_MODEL_WINDOW, and its RAM in README.md). */
#if EG_USE_WINDOW

/* Keras' merge of a forward value f and a backward value b (states in the state format) */
static int32_t eg_merge1(int32_t f, int32_t b, int32_t merge, int32_t a_bits)
{
    if (merge == EG_MERGE_MUL) return eg_asr32(f * b + (1 << (a_bits - 2)), a_bits - 1);   /* h_f * h_b */
    return eg_asr32(f + b + 1, 1);                                                          /* (h_f + h_b) / 2 */
}

/* The last layer's output for the head: its state, or the merge of a Bidirectional pair's two states */
static int32_t eg_last_output(const eg_model_t *m, const int16_t *state, int32_t *v)
{
    const eg_gru_t *g = &m->gru[m->n_gru - 1];
    const int16_t *h = state + m->state_len - g->units, *f = h - g->units;
    int32_t i;
    if (g->dir != EG_DIR_PAIR) {
        EG_NO_UNROLL for (i = 0; i < g->units; ++i) v[i] = h[i];
        return g->units;
    }
    if (g->merge == EG_MERGE_CONCAT) {
        EG_NO_UNROLL for (i = 0; i < 2 * g->units; ++i) v[i] = f[i];
        return 2 * g->units;
    }
    EG_NO_UNROLL for (i = 0; i < g->units; ++i) v[i] = eg_merge1(f[i], h[i], g->merge, m->a_bits);
    return g->units;
}

/* One direction of g over n rows of `in` (row stride in_w): its state h after every step goes to column `col` of
 * the output rows (stride out_w), or, merge >= 0, is merged into the value already there */
static void eg_window_dir(const eg_model_t *m, const eg_gru_t *g, int16_t *h, const int16_t *in, int32_t in_w,
                          int32_t n, int16_t *out, int32_t out_w, int32_t col, int32_t merge, int32_t *scratch)
{
    const int32_t kmax = eg_kmax(m), back = g->dir != EG_DIR_FORWARD;
    int32_t s, i;
    for (s = 0; s < n; ++s) {
        const int32_t t = back ? n - 1 - s : s;
        int16_t *row = out + t * out_w + col;
        eg_vec_from16(scratch, in + t * in_w, g->input_dim, g->kx);
        eg_gru_step(m, g, h, scratch, scratch + kmax, -1);
        if (merge < 0)
            EG_NO_UNROLL for (i = 0; i < g->units; ++i) row[i] = h[i];
        else
            EG_NO_UNROLL for (i = 0; i < g->units; ++i) row[i] = (int16_t)eg_merge1(row[i], h[i], merge, m->a_bits);
    }
}

/* Outputs of the head on one int16 row of the last layer's output (per-step models), or on zeros (row 0) */
static void eg_window_head(const eg_model_t *m, const int16_t *row, int32_t width, int32_t *out, int32_t *scratch)
{
    int32_t i;
    EG_NO_UNROLL for (i = 0; i < width; ++i) scratch[i] = row ? row[i] : 0;
    eg_head(m, width, out, scratch);
}

/* A whole window: features x (T rows of `features`) or token ids (padding skipped, as every direction skips it).
 * Writes the outputs after the last step, or with per_step those of every step (a padding id: the head on zeros,
 * Keras' Bidirectional output at a masked step). Returns the steps run, -1 on an id outside the vocabulary, -2
 * when T exceeds the window (nothing written). */
static int32_t eg_window_run(const eg_model_t *m, int16_t *state, const int16_t *x, const int32_t *ids, int32_t T,
                             int32_t *out, int32_t per_step, int32_t *scratch)
{
    int16_t *a = (int16_t *)(scratch + m->window_scratch), *b = a + m->window * m->window_width, *o = b;
    const int16_t *in = x;
    const int32_t F = m->features;
    int32_t l, t, i, j, n = 0, off = 0, in_w = F;
    if (T > m->window) return -2;
    eg_reset(m, state);
    if (ids) {                                          /* the embedding rows of the real ids */
        EG_NO_UNROLL for (t = 0; t < T; ++t) {
            if (ids[t] < 0 || ids[t] >= m->vocab || !m->embedding) return -1;
            if (ids[t] == 0 && m->mask_zero) continue;
            EG_NO_UNROLL for (i = 0; i < F; ++i)
                a[n * F + i] = EG_A8(m) ? ((const int8_t *)m->embedding)[ids[t] * F + i]
                                        : ((const int16_t *)m->embedding)[ids[t] * F + i];
            ++n;
        }
        in = a;
    } else {
        n = T;
    }
    for (l = 0; l < m->n_gru; ++l) {
        const eg_gru_t *g = &m->gru[l];
        const int32_t pair = l + 1 < m->n_gru && m->gru[l + 1].dir == EG_DIR_PAIR;
        const int32_t concat = pair && m->gru[l + 1].merge == EG_MERGE_CONCAT, W = concat ? 2 * g->units : g->units;
        eg_window_dir(m, g, state + off, in, in_w, n, o, W, 0, -1, scratch);
        off += g->units;
        if (pair) {
            const eg_gru_t *gb = &m->gru[++l];
            eg_window_dir(m, gb, state + off, in, in_w, n, o, W, concat ? g->units : 0, concat ? -1 : gb->merge,
                          scratch);
            off += gb->units;
        }
        in = o;
        in_w = W;
        o = o == b ? a : b;
    }
    if (!per_step) {
        eg_output(m, state, out, scratch);
        return n;
    }
    for (t = 0, j = 0; t < T; ++t) {                   /* features: n = T rows; tokens: the real ones in order */
        const int32_t real = !ids || !(ids[t] == 0 && m->mask_zero);
        eg_window_head(m, real ? in + j * in_w : 0, in_w, out + t * m->output_dim, scratch);
        j += real;
    }
    return n;
}
#endif
