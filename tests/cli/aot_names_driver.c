/* aot_names.test: two threaded tcc headers whose graphs name their inputs and outputs after C
 * keywords, macros and library names, next to the standard C headers, in C99/C11 and C++17
 * with -Wall -Wextra -Werror -pedantic; the program checks a result. */
#include <assert.h>
#include <complex.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <iso646.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#define TCC_PARALLEL_FOR_IMPLEMENTATION
#include "printf.h" /* from printf.tc: function tcc_printf */
#include "exit.h"   /* from exit.tc: function tcc_exit */

int main(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[12], c[8], d[6], e[6], f[4] = {1, 0, 0, 1};
  float s[8], m[4], x[4], i2[4];
  for (int i = 0; i < 12; ++i) b[i] = (float)i;
  for (int i = 0; i < 8; ++i) c[i] = 1.0f;
  for (int i = 0; i < 6; ++i) d[i] = 2.0f, e[i] = 1.0f;
  if (tcc_printf(a, b, c, d, e, f, s, m, x, i2) != 0) return 1;
  if (tcc_exit(a, b, c, d, e, f, s, m, x, i2) != 0) return 1;
  /* x = class . errno = d (2x3 of 2) . e (3x2 of 1): every element 6 */
  printf("%g %g %g\n", (double)x[0], (double)x[3], (double)i2[3]);
  return x[0] == 6.0f && x[3] == 6.0f && i2[3] == 1.0f ? 0 : 1;
}
