.syntax unified
.thumb
.text
    vmov q0[2], q0[0], r4, r5
    vmov q3[3], q3[1], r10, r8
    vmov q7[2], q7[0], r1, r2
    vmov r4, r5, q0[2], q0[0]
    vmov r0, r12, q6[3], q6[1]
    vmulh.s32 q0, q1, q2
    vmulh.s16 q3, q6, q7
    vmulh.u8 q7, q2, q4
    vrmulh.s32 q0, q0, q1
    vrmulh.s16 q3, q6, q7
    vrmulh.u32 q7, q2, q4
    vmullb.s16 q0, q1, q2
    vmullt.s16 q3, q6, q7
    vmullb.s32 q7, q2, q4
    vmullt.u8 q1, q2, q4
    vqdmullb.s16 q0, q1, q2
    vqdmullt.s32 q3, q6, q7
    vmlas.s32 q0, q1, r2
    vmlas.u16 q3, q6, r8
    vmla.u32 q7, q2, r12
    vmovnb.i32 q0, q1
    vmovnt.i32 q5, q6
    vqmovnb.u16 q0, q1
    vqmovunb.s32 q2, q3
    vshrnb.i32 q0, q1, #8
    vrshrnb.i16 q3, q6, #3
    vqrshrnb.s32 q7, q2, #15
    vcmp.s32 gt, q0, q1
    vcmp.i16 eq, q3, q6
    vcmp.s32 ge, q7, r3
    vmaxa.s16 q0, q1
    vabs.s32 q0, q1
    vneg.s16 q3, q6
    vshl.s32 q0, q1, q2
    vrshl.s32 q3, q6, q7
    vqshl.s32 q0, q1, q2
    vqrshl.s16 q0, r3
    vshl.s32 q0, r5
    vaddlv.s32 r0, r1, q2
    vaddlva.s32 r2, r3, q6
    vminv.s32 r0, q1
    vmaxv.u16 r2, q6
    vrmlaldavh.s32 r0, r1, q2, q3
    vmlsdav.s16 r0, q1, q2
    vmladavx.s16 r2, q1, q2
    vbrsr.8 q0, q1, r3
    vidup.u32 q0, r0, #1
    vsub.i32 q0, q1, r3
    vmvn q0, q1
    vbic q0, q1, q2
    vmov.i32 q0, #0
    vmov.i16 q3, #255
    vrev64.8 q0, q1
    vhadd.s32 q0, q1, r3
