/* edge-gru: what a build of the runtime compiles (included first by edge_gru.c): the paths of the model in the
 * export's model.h or every path, and the core's kernels (DSP, ARMv6-M, Helium or portable C). */
#ifndef EDGE_GRU_BUILD_H
#define EDGE_GRU_BUILD_H

/* ---- what this build compiles ----------------------------------------------------------------------
 * An export's model.h says which paths its model uses (EG_MODEL_USES_*): precision, accumulator
 * widths, reset_after, the input (features, embedding table, folded), a dense head, the weight layout.
 * Built next to that model.h, this file compiles only those paths and the compiler drops the rest
 * (one model per firmware). -DEG_GENERIC, or no model.h to be found, compiles every path, chosen at run
 * time from the model (several models in one firmware). eg_supports() says whether a model runs on this build. */
#if !defined(EG_GENERIC) && defined(__has_include)
#if __has_include("model.h")
#define EG_WITH_MODEL_H 1
#endif
#elif !defined(EG_GENERIC)
#define EG_WITH_MODEL_H 1     /* a compiler without __has_include: the export's folder is on the include path */
#endif
#ifdef EG_WITH_MODEL_H
#include "model.h"
#undef eg_step   /* a folded export's model.h turns calls into errors; the definitions below stay */
#undef eg_run
#undef eg_run_seq
#undef eg_step_token
#endif
#if defined(EG_GENERIC) || !defined(EG_MODEL_USES_W8)
#define EG_USE_W8 1
#define EG_USE_W16 1
#define EG_USE_A8 1
#define EG_USE_A16 1
#define EG_USE_ACC32 1
#define EG_USE_ACC64 1
#define EG_USE_AFTER 1
#define EG_USE_BEFORE 1
#define EG_USE_FEATURES 1
#define EG_USE_TABLE 1
#define EG_USE_FOLD 1
#define EG_USE_DENSE 1
#define EG_USE_BLOCKS 1
#define EG_USE_ROWS 1
#define EG_USE_PAIRS 1
#define EG_USE_PER_STEP 1
#define EG_USE_WINDOW 1
#else
#define EG_USE_W8 EG_MODEL_USES_W8
#define EG_USE_W16 EG_MODEL_USES_W16
#define EG_USE_A8 EG_MODEL_USES_A8
#define EG_USE_A16 EG_MODEL_USES_A16
#define EG_USE_ACC32 EG_MODEL_USES_ACC32
#define EG_USE_ACC64 EG_MODEL_USES_ACC64
#define EG_USE_AFTER EG_MODEL_USES_RESET_AFTER
#define EG_USE_BEFORE EG_MODEL_USES_RESET_BEFORE
#define EG_USE_FEATURES EG_MODEL_USES_FEATURES
#define EG_USE_TABLE EG_MODEL_USES_TABLE
#define EG_USE_FOLD EG_MODEL_USES_FOLD
#define EG_USE_DENSE EG_MODEL_USES_DENSE
#define EG_USE_BLOCKS EG_MODEL_USES_BLOCKS
#define EG_USE_ROWS EG_MODEL_USES_ROWS
#ifdef EG_MODEL_USES_PAIRS
#define EG_USE_PAIRS EG_MODEL_USES_PAIRS
#else
#define EG_USE_PAIRS 0       /* a model.h from before the pairs layout */
#endif
#ifdef EG_MODEL_USES_PER_STEP
#define EG_USE_PER_STEP EG_MODEL_USES_PER_STEP
#define EG_USE_WINDOW EG_MODEL_USES_WINDOW
#else
#define EG_USE_PER_STEP 0    /* a model.h from before per-step and window models */
#define EG_USE_WINDOW 0
#endif
#endif
/* The DSP int8 kernel (blocks layout, int32 accumulators): its assembly copy for each K & 6 of a product with a bias
 * and SMMULR requantization, and its C loop for the other products. */
#if defined(EG_GENERIC) || !defined(EG_MODEL_USES_I8_GENERIC)
#define EG_USE_I8_K0 1
#define EG_USE_I8_K2 1
#define EG_USE_I8_K4 1
#define EG_USE_I8_K6 1
#define EG_USE_I8_GENERIC 1
#else
#define EG_USE_I8_K0 EG_MODEL_USES_I8_K0
#define EG_USE_I8_K2 EG_MODEL_USES_I8_K2
#define EG_USE_I8_K4 EG_MODEL_USES_I8_K4
#define EG_USE_I8_K6 EG_MODEL_USES_I8_K6
#define EG_USE_I8_GENERIC EG_MODEL_USES_I8_GENERIC
#endif
/* The pairs kernel's straight-line copies, one per exact K of the model's products (model.h, up to 4; 0: none): the
 * generic build and a model.h without them keep only the K & 6 loops above. */
#if defined(EG_GENERIC) || !defined(EG_MODEL_PAIRS_K1)
#define EG_PAIRS_K1 0
#define EG_PAIRS_K2 0
#define EG_PAIRS_K3 0
#define EG_PAIRS_K4 0
#else
#define EG_PAIRS_K1 EG_MODEL_PAIRS_K1
#define EG_PAIRS_K2 EG_MODEL_PAIRS_K2
#define EG_PAIRS_K3 EG_MODEL_PAIRS_K3
#define EG_PAIRS_K4 EG_MODEL_PAIRS_K4
#endif
#define EG_PAIRS_EXACT(K)                                                                            \
    ((EG_PAIRS_K1 && (K) == EG_PAIRS_K1) || (EG_PAIRS_K2 && (K) == EG_PAIRS_K2) ||                      \
     (EG_PAIRS_K3 && (K) == EG_PAIRS_K3) || (EG_PAIRS_K4 && (K) == EG_PAIRS_K4))
/* A choice made at run time only where both sides are compiled in; else a constant the compiler folds. */
#define EG_PICK(both_a, both_b, runtime, only_b) (((both_a) && (both_b)) ? (runtime) : (only_b))
#define EG_W16(m) EG_PICK(EG_USE_W8, EG_USE_W16, (m)->w_bits == 16, EG_USE_W16)
#define EG_A8(m) EG_PICK(EG_USE_A16, EG_USE_A8, (m)->a_bits == 8, EG_USE_A8)
#define EG_ACC64(flag) EG_PICK(EG_USE_ACC32, EG_USE_ACC64, (flag), EG_USE_ACC64)
#define EG_AFTER(g) EG_PICK(EG_USE_BEFORE, EG_USE_AFTER, (g)->reset_after, EG_USE_AFTER)
#define EG_ROWS(g) EG_PICK(EG_USE_BLOCKS || EG_USE_PAIRS, EG_USE_ROWS, (g)->layout == EG_LAYOUT_ROWS, EG_USE_ROWS)
#define EG_PAIRS(g) EG_PICK(EG_USE_BLOCKS || EG_USE_ROWS, EG_USE_PAIRS, (g)->layout == EG_LAYOUT_PAIRS, EG_USE_PAIRS)

/* The DSP path uses GNU inline assembly and ACLE intrinsics (gcc, clang, armclang). */
#if defined(__ARM_FEATURE_DSP) && !defined(EG_PORTABLE) && (defined(__GNUC__) || defined(__clang__))
#define EG_DSP 1
#include <arm_acle.h>
#else
#define EG_DSP 0
#endif

/* SSAT (ARMv7-M and later, __ARM_FEATURE_SAT): the saturations use the ACLE intrinsic, which gcc does not infer
 * from the C comparisons (clang does). */
#if defined(__ARM_FEATURE_SAT) && !defined(EG_PORTABLE) && (defined(__GNUC__) || defined(__clang__))
#define EG_SSAT 1
#include <arm_acle.h>
#else
#define EG_SSAT 0
#endif

/* ARMv6-M (Cortex-M0/M0+): the int8 matrix kernel, gates and state update are Thumb-1 assembly below
 * (unified syntax, as gcc >= 6 and clang emit it). */
#if !EG_DSP && !defined(EG_PORTABLE) && defined(__ARM_ARCH_6M__) && (defined(__GNUC__) || defined(__clang__))
#define EG_V6M 1
#else
#define EG_V6M 0
#endif

/* Armv8.1-M with Helium (Cortex-M55): MVE kernels for the rows layout (edge_gru_mve.h), DSP elsewhere. */
#if EG_DSP && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EG_MVE 1
#include <arm_mve.h>
#else
#define EG_MVE 0
#endif

/* -DEG_TUNE_M7 (a build for a Cortex-M7): the DSP int8 kernel's inner loop scheduled for the M7's dual issue (each
 * load after a DSP instruction, the next group's loads inside the current group); slower on the M4. */
#if defined(EG_TUNE_M7) && EG_DSP && !EG_MVE
#define EG_M7_SCHEDULE 1
#else
#define EG_M7_SCHEDULE 0
#endif

/* Loops that run once per step or per sequence over a few values stay rolled (clang unrolls them at -O2: code size
 * for no measurable gain); gcc does not unroll at -O2. Not on the Helium build: with them rolled, the matrix
 * kernel's inner loops took 11% more cycles on the M55 model (spoken-digits GRU(16), 0.44 -> 0.49 cycles/MAC;
 * the cause, presumably where the code lands, is not pinned down). */
#if defined(__clang__) && !EG_MVE
#define EG_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define EG_NO_UNROLL
#endif

/* An argument struct an assembly function reads at fixed byte offsets: a build where a field sits elsewhere does
 * not compile, the error naming name_offset_of_field (C99 has no _Static_assert; an array of size -1 is the error). */
#define EG_ASM_OFFSET(type, name, field, at) \
    typedef char name##_offset_of_##field[(offsetof(type, field) == (at)) ? 1 : -1]

#if defined(__GNUC__) || defined(__clang__)
#define EG_NOINLINE __attribute__((noinline))   /* keeps the profile's matrix/gates/update split */
#define EG_INLINE __attribute__((always_inline)) inline
#else
#define EG_NOINLINE
#define EG_INLINE
#endif

/* EG_OS: int32 entries between consecutive columns of a matrix product's output. 2 on the DSP and portable paths,
 * where the x W + b_i and h_tm1 U + b_h outputs of a column sit side by side (gx at even, gh at odd entries), so that
 * the gate loop reads a unit's values through one pointer; 1 on the ARMv6-M and Helium paths, whose gate kernels
 * read each product's outputs as an array. */
#if EG_V6M || EG_MVE
#define EG_OS 1
#else
#define EG_OS 2
#endif

#endif
