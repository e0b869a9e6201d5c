/* tests/fuzz/replay.c - feed every file of a corpus directory to a fuzz
 * target, so ordinary (gcc, ASan) builds run the corpora as tests. Prints
 * TAP: one "ok N - file" line per input. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d;
    struct dirent *e;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    d = opendir(argv[1]);
    if (!d) {
        printf("1..0 # SKIP no corpus at %s\n", argv[1]);
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                return 1;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp);
    printf("1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        FILE *f;
        uint8_t *buf;
        long len;
        snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
        f = fopen(path, "rb");
        if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0) {
            printf("not ok %zu - %s (unreadable)\n", i + 1, names[i]);
            if (f)
                fclose(f);
            continue;
        }
        rewind(f);
        buf = malloc((size_t)len + 1);
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
            printf("not ok %zu - %s (unreadable)\n", i + 1, names[i]);
            fclose(f);
            free(buf);
            continue;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        printf("ok %zu - %s\n", i + 1, names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}
