// edge-gru's TFLite Micro measurement harness for firmware_sim (benchmarks/tflm_measure.py builds it).
// Runs an int8 .tflite of the unrolled layout (one invoke per sequence) under TFLite Micro's reference kernels:
// set-up (GetModel .. AllocateTensors) between marks 1000 and 1001, then one mark before each sequence.
// I/O window at 0x60000000 (emulator-only memory): [0] magic "TFLM", [1] N, [2] input bytes per sequence,
// [3] output bytes per sequence; inputs from byte 0x100, outputs right after them.
// The model array (model_data.h, generated) stays in flash as TFLite Micro's default build places it; the
// arena is a static array in SRAM.
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "model_data.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

extern "C" void eg_mark(uint32_t id);
// TFLite Micro's logging hooks: nothing is printed (TF_LITE_STRIP_ERROR_STRINGS), so no stdio is linked.
extern "C" void DebugLog(const char *format, va_list args) { (void)format; (void)args; }
extern "C" int DebugVsnprintf(char *buffer, size_t buf_size, const char *format, va_list vlist)
{
    (void)buffer; (void)buf_size; (void)format; (void)vlist;
    return 0;
}

alignas(16) static uint8_t arena[EG_ARENA_BYTES];

int main(void)
{
    volatile int32_t *io = (volatile int32_t *)0x60000000u;
    if (io[0] != 0x4D4C4654) return 3;
    const int32_t n = io[1], in_bytes = io[2], out_bytes = io[3];
    const uint8_t *in = (const uint8_t *)0x60000100u;
    uint8_t *out = (uint8_t *)(0x60000100u + (uint32_t)(n * in_bytes));
    eg_mark(1000);
    const tflite::Model *model = tflite::GetModel(eg_model_data);
    static tflite::MicroMutableOpResolver<16> resolver;
    resolver.AddFullyConnected();
    resolver.AddLogistic();
    resolver.AddTanh();
    resolver.AddAdd();
    resolver.AddMul();
    resolver.AddSub();
    resolver.AddSplit();
    resolver.AddStridedSlice();
    resolver.AddUnpack();
    resolver.AddSoftmax();
    resolver.AddReshape();
    resolver.AddGather();
    resolver.AddConcatenation();
    resolver.AddPack();
    static tflite::MicroInterpreter interpreter(model, resolver, arena, EG_ARENA_BYTES);
    if (interpreter.AllocateTensors() != kTfLiteOk) return 4;
    eg_mark(1001);
    TfLiteTensor *x = interpreter.input(0), *y = interpreter.output(0);
    if ((int32_t)x->bytes != in_bytes || (int32_t)y->bytes != out_bytes) return 5;
    for (int32_t i = 0; i < n; ++i) {
        eg_mark((uint32_t)i);
        memcpy(x->data.raw, in + i * in_bytes, (size_t)in_bytes);
        if (interpreter.Invoke() != kTfLiteOk) return 6;
        memcpy(out + i * out_bytes, y->data.raw, (size_t)out_bytes);
    }
    eg_mark((uint32_t)n);
    return 0;
}
