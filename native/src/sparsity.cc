// 2:4 structured sparsity mask (SPEC 9): in every group of 4 consecutive elements keep the
// two-of-four pattern with the largest sum of |w|; ties take the first pattern in ascending
// lexicographic order of the 0/1 tuples.
#include "common.h"
#include "int4.h"

namespace modelopt {
namespace {

const uint8_t kPatterns[6][4] = {{0, 0, 1, 1}, {0, 1, 0, 1}, {0, 1, 1, 0}, {1, 0, 0, 1}, {1, 0, 1, 0}, {1, 1, 0, 0}};

struct Sparsity24Baton : Baton {
  View<float> w;
  View<uint8_t> out;
  Napi::ObjectReference outRef;
  void Execute() override {
    ParallelFor(w.size / 4, 1 << 14, 0, [&](size_t gb, size_t ge, int) {
      for (size_t g = gb; g < ge; g++) {
        const float* x = w.data + 4 * g;
        double a[4];
        for (int k = 0; k < 4; k++) {
          a[k] = std::fabs(static_cast<double>(x[k]));
          if (std::isnan(a[k])) a[k] = 0;
        }
        double best = -1;
        int bi = 0;
        for (int p = 0; p < 6; p++) {
          double s = 0;
          for (int k = 0; k < 4; k++)
            if (kPatterns[p][k]) s += a[k];
          if (s > best) {
            best = s;
            bi = p;
          }
        }
        for (int k = 0; k < 4; k++) out.data[4 * g + k] = kPatterns[bi][k];
      }
    });
  }
  Napi::Value Result(Napi::Env) override { return outRef.Value(); }
};

}  // namespace

Napi::Value Sparsity24Mask(const Napi::CallbackInfo& info) {
  auto b = std::make_unique<Sparsity24Baton>();
  b->w = Borrow<float>(*b, info[0], "weight");
  const int64_t rows = IntArg(info, 1, "rows");
  const int64_t cols = IntArg(info, 2, "cols");
  if (rows < 0 || cols < 0 || static_cast<size_t>(rows * cols) != b->w.size) throw Napi::RangeError::New(info.Env(), "sparsity24Mask: shape does not match the data length");
  if (cols % 4 != 0) throw Napi::RangeError::New(info.Env(), "sparsity24Mask: cols must be a multiple of 4");
  b->out = Allocate<uint8_t>(*b, info.Env(), b->w.size, b->outRef);
  return Queue(info.Env(), std::move(b));
}

}  // namespace modelopt
