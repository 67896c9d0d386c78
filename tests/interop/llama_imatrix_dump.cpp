// llama-imatrix-dump FILE...: the importance vectors llama-quantize would hand
// its quantizer, from llama.cpp's own loader (common_imatrix_load in
// libllama-common, the oracle), in the text form of `qu-gguf-tool imatrix`.
// The per-entry normalisation is llama-quantize's (tools/quantize): GGUF
// sums / count per matrix (all ones when the count is 0), legacy values /
// ncall (as stored when ncall <= 0).  Each file's answer follows a line
// "file NAME"; a file the loader refuses prints "refused" (so does one with
// no counts, on which llama-quantize would divide by zero).
#include <cstdio>
#include <string>

#include "imatrix-loader.h"

static void dump(const char *path) {
    std::printf("file %s\n", path);
    common_imatrix m;
    if (!common_imatrix_load(path, m)) {
        std::printf("refused\n");
        return;
    }
    for (const auto &kv : m.entries)
        if (!m.is_legacy && kv.second.counts.empty()) {
            std::printf("refused\n");
            return;
        }
    std::printf("legacy %d chunks %d datasets %zu\n", m.is_legacy ? 1 : 0, (int) m.chunk_count,
                m.datasets.size());
    for (const auto &kv : m.entries) {
        const auto &e = kv.second;
        std::vector<float> v(e.sums.size());
        if (!m.is_legacy) {
            const size_t nc = e.counts.size(), ne0 = e.sums.size() / nc;
            for (size_t j = 0; j < nc; j++) {
                const float count = (float) e.counts[j];
                for (size_t i = 0; i < ne0; i++)
                    v[j * ne0 + i] = count > 0.0f ? e.sums[j * ne0 + i] / count : 1.0f;
            }
        } else {
            const int64_t ncall = e.counts.empty() ? 0 : e.counts[0];
            for (size_t i = 0; i < v.size(); i++)
                v[i] = ncall > 0 ? e.sums[i] / ncall : e.sums[i];
        }
        std::printf("%s %zu", kv.first.c_str(), v.size());
        for (float x : v)
            std::printf(" %.9g", (double) x);
        std::printf("\n");
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        dump(argv[i]);
    return std::fflush(stdout) != 0;
}
