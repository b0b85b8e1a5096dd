/* Links the multi-threaded object `tcc compile --threads` made from aot_threads.tc, with the
 * header's pthreads tcc_parallel_for, and checks every element against plain loops. */
#define TCC_PARALLEL_FOR_IMPLEMENTATION
#include "aot_threads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  float* a = malloc(sizeof(float) * 300 * 700);
  float* b = malloc(sizeof(float) * 700 * 500);
  float* c = malloc(sizeof(float) * 300 * 500);
  double* x = malloc(sizeof(double) * 16 * 96 * 64);
  double* y = malloc(sizeof(double) * 16 * 64 * 80);
  double* z = malloc(sizeof(double) * 16 * 96 * 80);
  for (int i = 0; i < 300 * 700; ++i) a[i] = (float)((i * 7) % 13) / 4.0f - 1.5f;
  for (int i = 0; i < 700 * 500; ++i) b[i] = (float)((i * 5) % 11) / 8.0f - 0.5f;
  for (int i = 0; i < 16 * 96 * 64; ++i) x[i] = (double)((i * 3) % 17) / 16.0 - 0.5;
  for (int i = 0; i < 16 * 64 * 80; ++i) y[i] = (double)((i * 11) % 19) / 32.0 - 0.25;
  if (aot_threads(a, b, x, y, c, z) != 0) return 3;
  double worst = 0;
  for (int i = 0; i < 300; ++i)
    for (int j = 0; j < 500; ++j) {
      double want = 0;
      for (int k = 0; k < 700; ++k) want += (double)a[i * 700 + k] * b[k * 500 + j];
      double err = fabs(c[i * 500 + j] - want) / 700.0;
      if (err > worst) worst = err;
    }
  for (int s = 0; s < 16; ++s)
    for (int i = 0; i < 96; ++i)
      for (int j = 0; j < 80; ++j) {
        double want = 0;
        for (int k = 0; k < 64; ++k) want += x[(s * 96 + i) * 64 + k] * y[(s * 64 + k) * 80 + j];
        double err = fabs(z[(s * 96 + i) * 80 + j] - want);
        if (err > worst) worst = err;
      }
  printf("worst scaled error %.3g\n", worst);
  return worst < 1e-5 ? 0 : 1;
}
