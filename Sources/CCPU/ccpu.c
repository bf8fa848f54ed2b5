/* SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "ccpu.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

int ser_cpu_identify(ser_cpu_info *info) {
    memset(info, 0, sizeof *info);
    unsigned int a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 1;
    unsigned int max_leaf = a;
    memcpy(info->vendor + 0, &b, 4);
    memcpy(info->vendor + 4, &d, 4);
    memcpy(info->vendor + 8, &c, 4);

    __get_cpuid(1, &a, &b, &c, &d);
    int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    int ext_family = (a >> 20) & 0xff, ext_model = (a >> 16) & 0xf;
    info->family = base_family == 0xf ? base_family + ext_family : base_family;
    info->model = (base_family == 0x6 || base_family == 0xf) ? (ext_model << 4) + base_model : base_model;

    int osxsave = (c >> 27) & 1;
    unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
    int ymm_os = (xcr0 & 0x6) == 0x6;           /* SSE and AVX state */
    int zmm_os = (xcr0 & 0xe6) == 0xe6;         /* plus opmask, ZMM_Hi256, Hi16_ZMM */
    info->avx = ymm_os && ((c >> 28) & 1);
    info->fma = ymm_os && ((c >> 12) & 1);

    if (max_leaf >= 7) {
        __get_cpuid_count(7, 0, &a, &b, &c, &d);
        info->avx2 = info->avx && ((b >> 5) & 1);
        unsigned int need = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31); /* F DQ CD BW VL */
        info->avx512 = zmm_os && (b & need) == need;
    }

    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        unsigned int regs[12];
        for (unsigned int i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
        memcpy(info->brand, regs, 48);
        info->brand[48] = 0;
        /* trim leading and trailing spaces */
        char *s = info->brand;
        while (*s == ' ') s++;
        memmove(info->brand, s, strlen(s) + 1);
        size_t n = strlen(info->brand);
        while (n > 0 && info->brand[n - 1] == ' ') info->brand[--n] = 0;
    }
    return 1;
}
#else
int ser_cpu_identify(ser_cpu_info *info) {
    memset(info, 0, sizeof *info);
    return 0;
}
#endif

const char *ser_openblas_corename(void) {
    char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    return corename ? corename() : NULL;
}

int ser_openblas_select_core(const char *name) {
    void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    if (!quit || !init) return 0;
    const char *old = getenv("OPENBLAS_CORETYPE");
    char *saved = old ? strdup(old) : NULL;
    setenv("OPENBLAS_CORETYPE", name, 1);
    quit();
    init();
    if (saved) { setenv("OPENBLAS_CORETYPE", saved, 1); free(saved); }
    else unsetenv("OPENBLAS_CORETYPE");
    return 1;
}
