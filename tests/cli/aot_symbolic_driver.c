/* Calls the aot_symbolic object at several batch sizes and checks d = (a @ b) @ e against a
 * plain C loop; a negative size must return 3. Prints "ok" when every check passes. */
#include "aot_symbolic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float value(int64_t i, int mul, int mod) { return (float)((i * mul) % mod) - (float)(mod / 2); }

int main(void) {
  const int64_t sizes[] = {0, 1, 7, 64, 300};
  float e[18];
  for (int i = 0; i < 18; ++i) e[i] = value(i, 3, 7);
  for (int s = 0; s < 5; ++s) {
    const int64_t n = sizes[s];
    float* a = malloc(sizeof(float) * (size_t)(n * 20 + 1));
    float* b = malloc(sizeof(float) * (size_t)(n * 15 + 1));
    float* d = malloc(sizeof(float) * (size_t)(n * 24 + 1));
    for (int64_t i = 0; i < n * 20; ++i) a[i] = value(i, 7, 11);
    for (int64_t i = 0; i < n * 15; ++i) b[i] = value(i, 5, 13);
    int status = aot_symbolic(n, a, b, e, d);
    if (status != 0) {
      printf("N = %lld: returned %d\n", (long long)n, status);
      return 1;
    }
    for (int64_t m = 0; m < n; ++m)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 6; ++j) {
          float want = 0;
          for (int k = 0; k < 3; ++k) {
            float c = 0;
            for (int q = 0; q < 5; ++q) c += a[m * 20 + i * 5 + q] * b[m * 15 + q * 3 + k];
            want += c * e[k * 6 + j];
          }
          if (fabsf(want - d[m * 24 + i * 6 + j]) > 1e-3f * (1 + fabsf(want))) {
            printf("N = %lld: d[%lld,%d,%d] = %g, want %g\n", (long long)n, (long long)m, i, j, d[m * 24 + i * 6 + j], want);
            return 1;
          }
        }
    free(a);
    free(b);
    free(d);
  }
  if (aot_symbolic(-1, 0, 0, e, 0) != 3) {
    printf("a negative size was not refused\n");
    return 1;
  }
  printf("ok\n");
  return 0;
}
