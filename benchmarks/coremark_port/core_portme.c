/* edge-gru's CoreMark port for firmware_sim: timing by cycle marks (the emulator records its cycle
 * count at each write to 0x60000010), output by semihosting through the generated startup code. */
#include <stdarg.h>
#include "coremark.h"

void eg_mark(uint32_t id);
void eg_putc(char c);

#if VALIDATION_RUN
volatile ee_s32 seed1_volatile = 0x3415;
volatile ee_s32 seed2_volatile = 0x3415;
volatile ee_s32 seed3_volatile = 0x66;
#endif
#if PERFORMANCE_RUN
volatile ee_s32 seed1_volatile = 0x0;
volatile ee_s32 seed2_volatile = 0x0;
volatile ee_s32 seed3_volatile = 0x66;
#endif
#if PROFILE_RUN
volatile ee_s32 seed1_volatile = 0x8;
volatile ee_s32 seed2_volatile = 0x8;
volatile ee_s32 seed3_volatile = 0x8;
#endif
volatile ee_s32 seed4_volatile = ITERATIONS;
volatile ee_s32 seed5_volatile = 0;
ee_u32 default_num_contexts = 1;

/* The benchmark's time is read from the marks by the host; the program itself sees no clock. */
void start_time(void) { eg_mark(1); }
void stop_time(void) { eg_mark(2); }
CORE_TICKS get_time(void) { return 0; }
secs_ret time_in_secs(CORE_TICKS ticks) { return (secs_ret)ticks; }

void portable_init(core_portable *p, int *argc, char *argv[])
{
    (void)argc;
    (void)argv;
    p->portable_id = 1;
}

void portable_fini(core_portable *p) { p->portable_id = 0; }

static void put_unsigned(unsigned long v, unsigned base, int width, char pad)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v && n < (int)sizeof buf);
    while (width-- > n) eg_putc(pad);
    while (n) eg_putc(buf[--n]);
}

/* The subset of printf that CoreMark's report uses: %d %u %x %s %c, 'l' and a zero-padded width. */
int ee_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; ++fmt) {
        if (*fmt != '%') {
            eg_putc(*fmt);
            continue;
        }
        ++fmt;
        char pad = ' ';
        int width = 0, is_long = 0;
        if (*fmt == '0') pad = '0';
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        if (*fmt == 'l') { is_long = 1; ++fmt; }
        switch (*fmt) {
        case 'd': {
            long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) { eg_putc('-'); v = -v; }
            put_unsigned((unsigned long)v, 10, width, pad);
            break;
        }
        case 'u': put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, width, pad); break;
        case 'x': put_unsigned(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, width, pad); break;
        case 's': { const char *s = va_arg(ap, const char *); while (*s) eg_putc(*s++); break; }
        case 'c': eg_putc((char)va_arg(ap, int)); break;
        case '\0': --fmt; break;
        default: eg_putc(*fmt); break;
        }
    }
    va_end(ap);
    return 0;
}
