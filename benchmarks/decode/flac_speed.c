/* Times FLAC decoding alone, libFLAC's stream decoder (Debian libflac) against dr_flac (dr_libs;
 * not vendored in this repository: put dr_flac.h in /tmp/drf, e.g.
 * `git -C DR_LIBS_CLONE show b55a0d9a30b91ad8901f89ecf05f76a33186c185:dr_flac.h > /tmp/drf/dr_flac.h`),
 * on the same files: integer samples only, no float conversion, no libsndfile.
 * For each decoder: best of N passes (argument, default 3) over all files, the decoders alternating
 * within each pass, CPU ms per file (CLOCK_PROCESS_CPUTIME_ID). Also times libFLAC opening a file
 * and parsing its metadata only (what a dr_flac reader would still ask of libFLAC for libsndfile's
 * errors on damaged tags), and first checks that both give the same integer samples (dr_flac's are
 * shifted left to 32 bits). Exit status 1 on any mismatch.
 *
 * SwiftPM compiles a C target with -O2 -fPIC -fno-omit-frame-pointer in release (Package.swift
 * cannot ask for -O3 without unsafeFlags), so compile with those flags to see what the package would get:
 *   clang -O2 -fPIC -fno-omit-frame-pointer -march=x86-64-v3 -I /tmp/drf benchmarks/decode/flac_speed.c -lFLAC -o /tmp/flac_speed
 *   find ../shared/corpora/ravdess -name '*.flac' | sort | /tmp/flac_speed [PASSES]
 */
#define DR_FLAC_IMPLEMENTATION
#include "dr_flac.h"
#include <FLAC/stream_decoder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_FILES = 20000, MAX_SAMPLES = 1 << 24 };
static int32_t *lib_out, *dr_out;   /* [MAX_SAMPLES] interleaved, reused for every file */
static size_t lib_n;                /* samples written by libFLAC for the current file */
static int lib_bits;

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static FLAC__StreamDecoderWriteStatus on_write(const FLAC__StreamDecoder *d, const FLAC__Frame *f,
                                               const FLAC__int32 *const buf[], void *u) {
    (void)d; (void)u;
    unsigned ch = f->header.channels, n = f->header.blocksize;
    if (lib_n + (size_t)n * ch > MAX_SAMPLES) return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    lib_bits = f->header.bits_per_sample;
    for (unsigned i = 0; i < n; i++)
        for (unsigned c = 0; c < ch; c++) lib_out[lib_n++] = buf[c][i];
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
}
static void on_error(const FLAC__StreamDecoder *d, FLAC__StreamDecoderErrorStatus s, void *u) { (void)d; (void)s; (void)u; }

static size_t decode_libflac(const char *path) {
    FLAC__StreamDecoder *d = FLAC__stream_decoder_new();
    lib_n = 0;
    if (FLAC__stream_decoder_init_file(d, path, on_write, NULL, on_error, NULL) == FLAC__STREAM_DECODER_INIT_STATUS_OK)
        FLAC__stream_decoder_process_until_end_of_stream(d);
    FLAC__stream_decoder_finish(d);
    FLAC__stream_decoder_delete(d);
    return lib_n;
}

static void metadata_libflac(const char *path) {
    FLAC__StreamDecoder *d = FLAC__stream_decoder_new();
    FLAC__stream_decoder_set_metadata_respond_all(d);
    if (FLAC__stream_decoder_init_file(d, path, on_write, NULL, on_error, NULL) == FLAC__STREAM_DECODER_INIT_STATUS_OK)
        FLAC__stream_decoder_process_until_end_of_metadata(d);
    FLAC__stream_decoder_finish(d);
    FLAC__stream_decoder_delete(d);
}

static size_t decode_drflac(const char *path) {
    drflac *f = drflac_open_file(path, NULL);
    if (!f) return 0;
    size_t n = 0;
    for (;;) {
        if (n + 4096u * f->channels > MAX_SAMPLES) break;
        drflac_uint64 k = drflac_read_pcm_frames_s32(f, 4096, dr_out + n);
        if (k == 0) break;
        n += (size_t)k * f->channels;
    }
    drflac_close(f);
    return n;
}

int main(int argc, char **argv) {
    int passes = argc > 1 ? atoi(argv[1]) : 3;
    if (passes < 1) passes = 1;
    static char *files[MAX_FILES];
    char line[4096];
    int count = 0;
    while (count < MAX_FILES && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (*line) files[count++] = strdup(line);
    }
    lib_out = malloc(sizeof(int32_t) * MAX_SAMPLES);
    dr_out = malloc(sizeof(int32_t) * MAX_SAMPLES);
    /* Identity of the integer samples, file by file. */
    long mismatches = 0, samples = 0;
    for (int i = 0; i < count; i++) {
        size_t a = decode_libflac(files[i]), b = decode_drflac(files[i]);
        int same = a == b;
        for (size_t j = 0; same && j < a; j++) same = (int32_t)((uint32_t)lib_out[j] << (32 - lib_bits)) == dr_out[j];
        if (!same) { mismatches++; printf("MISMATCH %s (%zu vs %zu samples)\n", files[i], a, b); }
        samples += (long)a;
    }
    double best_lib = 1e30, best_dr = 1e30, best_meta = 1e30;
    for (int pass = 0; pass < passes; pass++) {
        double t0 = cpu();
        for (int i = 0; i < count; i++) decode_libflac(files[i]);
        double t1 = cpu();
        for (int i = 0; i < count; i++) decode_drflac(files[i]);
        double t2 = cpu();
        for (int i = 0; i < count; i++) metadata_libflac(files[i]);
        double t3 = cpu();
        if (t1 - t0 < best_lib) best_lib = t1 - t0;
        if (t2 - t1 < best_dr) best_dr = t2 - t1;
        if (t3 - t2 < best_meta) best_meta = t3 - t2;
    }
    printf("files %d, samples %ld, integer mismatches %ld\n", count, samples, mismatches);
    printf("libFLAC %.3f CPU ms/file, dr_flac %.3f CPU ms/file, %.2fx (best of %d)\n",
           best_lib * 1e3 / count, best_dr * 1e3 / count, best_lib / best_dr, passes);
    printf("libFLAC open + metadata only %.3f CPU ms/file\n", best_meta * 1e3 / count);
    return mismatches != 0;
}
