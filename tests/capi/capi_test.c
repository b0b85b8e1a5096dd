/* The C API from a C program: ops, compile, runs on dense and strided buffers (checked against
 * plain loops), a symbolic batch at two sizes, and the errors every misuse gets (a status and
 * a message, nothing written, no crash). Exit status 0 when every check passes. */
#include <tcc/tcc_c.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, tcc_last_error()); \
      ++failures;                                                                \
    }                                                                            \
  } while (0)

static float value_at(int i, int mul, int mod) { return (float)((i * mul) % mod) - (float)(mod / 2); }

/* c[b,i,j] = sum_k a[b,i,k] * w[b,k,j] for a batch of n (4x5)·(5,8), against plain loops. */
static void batch_matmul(void) {
  tcc_graph* g = NULL;
  CHECK(tcc_graph_create(&g) == TCC_OK);
  const int64_t n = tcc_dim("N");
  CHECK(n != 0);
  const int64_t sa[3] = {n, 4, 5}, sw[3] = {n, 5, 8};
  tcc_value a, w, c;
  CHECK(tcc_input(g, "a", TCC_F32, 3, sa, &a) == TCC_OK);
  CHECK(tcc_input(g, "w", TCC_F32, 3, sw, &w) == TCC_OK);
  CHECK(tcc_matmul(g, a, w, 0, &c) == TCC_OK);
  tcc_dtype dtype;
  int rank = 0;
  int64_t shape[8];
  CHECK(tcc_value_type(g, c, &dtype, &rank, shape, 8) == TCC_OK);
  CHECK(dtype == TCC_F32 && rank == 3 && shape[0] == n && shape[1] == 4 && shape[2] == 8);
  tcc_compiled* f = NULL;
  CHECK(tcc_compile(g, 1, &c, &f) == TCC_OK);
  const int sizes[2] = {3, 11};
  for (int s = 0; s < 2; ++s) {
    const int b = sizes[s];
    float* av = malloc(sizeof(float) * b * 20);
    float* wv = malloc(sizeof(float) * b * 40);
    float* cv = malloc(sizeof(float) * b * 32);
    for (int i = 0; i < b * 20; ++i) av[i] = value_at(i, 7, 11);
    for (int i = 0; i < b * 40; ++i) wv[i] = value_at(i, 5, 13);
    const int64_t xa[3] = {b, 4, 5}, xw[3] = {b, 5, 8}, xc[3] = {b, 4, 8};
    tcc_buffer in[2] = {{"a", av, TCC_F32, 3, xa, NULL}, {"w", wv, TCC_F32, 3, xw, NULL}};
    tcc_buffer out = {"c", cv, TCC_F32, 3, xc, NULL};
    CHECK(tcc_run(f, 2, in, 1, &out) == TCC_OK);
    for (int m = 0; m < b; ++m)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 8; ++j) {
          float want = 0;
          for (int k = 0; k < 5; ++k) want += av[m * 20 + i * 5 + k] * wv[m * 40 + k * 8 + j];
          CHECK(fabsf(want - cv[m * 32 + i * 8 + j]) <= 1e-4f * (1 + fabsf(want)));
        }
    free(av);
    free(wv);
    free(cv);
  }
  /* A symbol fed two sizes: an input error, and the output untouched. */
  float av[2 * 20] = {0}, wv[3 * 40] = {0}, cv[2 * 32];
  for (int i = 0; i < 64; ++i) cv[i] = 7;
  const int64_t xa[3] = {2, 4, 5}, xw[3] = {3, 5, 8}, xc[3] = {2, 4, 8};
  tcc_buffer in[2] = {{"a", av, TCC_F32, 3, xa, NULL}, {"w", wv, TCC_F32, 3, xw, NULL}};
  tcc_buffer out = {"c", cv, TCC_F32, 3, xc, NULL};
  CHECK(tcc_run(f, 2, in, 1, &out) == TCC_ERROR_INPUT);
  CHECK(strstr(tcc_last_error(), "but N is 2 (from input 'a')") != NULL);
  CHECK(cv[0] == 7 && cv[63] == 7);
  /* A missing input, a wrong output shape. */
  CHECK(tcc_run(f, 1, in, 1, &out) == TCC_ERROR_INPUT);
  CHECK(strstr(tcc_last_error(), "input 'w' was not given") != NULL);
  const int64_t xw2[3] = {2, 5, 8}, wrong[3] = {2, 8, 4};
  in[1].shape = xw2;
  tcc_buffer bad = {"c", cv, TCC_F32, 3, wrong, NULL};
  CHECK(tcc_run(f, 2, in, 1, &bad) == TCC_ERROR_INPUT);
  CHECK(strstr(tcc_last_error(), "the buffer is f32[2,8,4], the result f32[2,4,8]") != NULL);
  CHECK(cv[0] == 7);
  tcc_compiled_destroy(f);
  tcc_graph_destroy(g);
}

/* Strided buffers: A read through transposed strides, C written with a row pitch. */
static void strided(void) {
  tcc_graph* g = NULL;
  CHECK(tcc_graph_create(&g) == TCC_OK);
  const int64_t sa[2] = {3, 4}, sb[2] = {4, 2};
  tcc_value a, b, c;
  CHECK(tcc_input(g, "a", TCC_F64, 2, sa, &a) == TCC_OK);
  CHECK(tcc_input(g, "b", TCC_F64, 2, sb, &b) == TCC_OK);
  CHECK(tcc_dot(g, a, b, &c) == TCC_OK);
  tcc_compiled* f = NULL;
  CHECK(tcc_compile(g, 1, &c, &f) == TCC_OK);
  double at[4][3]; /* a stored transposed: a[i][k] = at[k][i] */
  double bv[8];
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 3; ++i) at[k][i] = i * 10 + k;
  for (int i = 0; i < 8; ++i) bv[i] = i - 3;
  double cv[3][5]; /* rows of 5, 2 used */
  memset(cv, 0, sizeof cv);
  const int64_t a_strides[2] = {1, 3}, c_shape[2] = {3, 2}, c_strides[2] = {5, 1};
  tcc_buffer in[2] = {{"a", at, TCC_F64, 2, sa, a_strides}, {"b", bv, TCC_F64, 2, sb, NULL}};
  tcc_buffer out = {"c", cv, TCC_F64, 2, c_shape, c_strides};
  CHECK(tcc_run(f, 2, in, 1, &out) == TCC_OK);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) {
      double want = 0;
      for (int k = 0; k < 4; ++k) want += at[k][i] * bv[k * 2 + j];
      CHECK(cv[i][j] == want);
    }
  CHECK(cv[0][2] == 0 && cv[2][4] == 0); /* outside the strided view: untouched */
  const int64_t negative[2] = {-1, 3};
  in[0].strides = negative;
  CHECK(tcc_run(f, 2, in, 1, &out) == TCC_ERROR_INPUT);
  tcc_compiled_destroy(f);
  tcc_graph_destroy(g);
}

/* The other ops build and run; their shapes follow the spec. */
static void ops(void) {
  tcc_graph* g = NULL;
  CHECK(tcc_graph_create(&g) == TCC_OK);
  const int64_t sx[3] = {2, 3, 4}, sy[3] = {2, 4, 5}, sz[2] = {4, 6};
  tcc_value x, y, z, e, bd, td, tr, rs;
  CHECK(tcc_input(g, "x", TCC_I32, 3, sx, &x) == TCC_OK);
  CHECK(tcc_input(g, "y", TCC_I32, 3, sy, &y) == TCC_OK);
  CHECK(tcc_input(g, "z", TCC_I32, 2, sz, &z) == TCC_OK);
  tcc_value xy[2] = {x, y};
  CHECK(tcc_einsum(g, "bij,bjk->bik", 2, xy, &e) == TCC_OK);
  const int64_t axes[2] = {2, 1};
  CHECK(tcc_batch_dot(g, x, y, 2, axes, 0, &bd) == TCC_OK);
  const int64_t ax[1] = {2}, az[1] = {0};
  CHECK(tcc_tensordot_axes(g, x, z, 1, ax, az, &td) == TCC_OK);
  CHECK(tcc_transpose(g, e, 0, NULL, &tr) == TCC_OK);
  const int64_t flat[2] = {-1, 5};
  CHECK(tcc_reshape(g, e, 2, flat, &rs) == TCC_OK);
  int rank = 0;
  int64_t shape[8];
  CHECK(tcc_value_type(g, td, NULL, &rank, shape, 8) == TCC_OK && rank == 3 && shape[2] == 6);
  CHECK(tcc_value_type(g, tr, NULL, &rank, shape, 8) == TCC_OK && rank == 3 && shape[0] == 5 && shape[2] == 2);
  tcc_value outs[3] = {e, bd, rs};
  tcc_compiled* f = NULL;
  CHECK(tcc_compile(g, 3, outs, &f) == TCC_OK);
  int32_t xv[24], yv[40], ev[30], bdv[30], rsv[30];
  for (int i = 0; i < 24; ++i) xv[i] = i % 5 - 2;
  for (int i = 0; i < 40; ++i) yv[i] = i % 7 - 3;
  const int64_t se[3] = {2, 3, 5}, srs[2] = {6, 5};
  tcc_buffer in[2] = {{"x", xv, TCC_I32, 3, sx, NULL}, {"y", yv, TCC_I32, 3, sy, NULL}};
  tcc_buffer out[3] = {{NULL, ev, TCC_I32, 3, se, NULL}, {NULL, bdv, TCC_I32, 3, se, NULL}, {NULL, rsv, TCC_I32, 2, srs, NULL}};
  CHECK(tcc_run(f, 2, in, 3, out) == TCC_OK);
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) {
        int32_t want = 0;
        for (int j = 0; j < 4; ++j) want += xv[b * 12 + i * 4 + j] * yv[b * 20 + j * 5 + k];
        CHECK(ev[b * 15 + i * 5 + k] == want && bdv[b * 15 + i * 5 + k] == want && rsv[b * 15 + i * 5 + k] == want);
      }
  tcc_compiled_destroy(f);
  tcc_graph_destroy(g);
}

/* Misuse: a status and a message, never a crash. */
static void errors(void) {
  tcc_graph* g = NULL;
  CHECK(tcc_graph_create(&g) == TCC_OK);
  const int64_t s1[2] = {3, 4}, s2[2] = {5, 6};
  tcc_value a, b, c;
  CHECK(tcc_input(g, "a", TCC_F32, 2, s1, &a) == TCC_OK);
  CHECK(tcc_input(g, "b", TCC_F32, 2, s2, &b) == TCC_OK);
  CHECK(tcc_dot(g, a, b, &c) == TCC_ERROR_SHAPE);
  CHECK(strstr(tcc_last_error(), "must be equal, but are 4") != NULL);
  CHECK(tcc_input(g, "a", TCC_F32, 2, s1, &c) != TCC_OK); /* a name used twice */
  CHECK(tcc_dot(g, a, 99, &c) == TCC_ERROR_ARGUMENT);
  CHECK(tcc_dot(NULL, a, b, &c) == TCC_ERROR_ARGUMENT);
  CHECK(tcc_dot(g, a, b, NULL) == TCC_ERROR_ARGUMENT);
  CHECK(tcc_input(g, "q", (tcc_dtype)9, 2, s1, &c) == TCC_ERROR_ARGUMENT);
  CHECK(tcc_input(g, "q", TCC_F32, 2, NULL, &c) == TCC_ERROR_ARGUMENT);
  CHECK(tcc_matmul(g, a, a, 64, &c) == TCC_ERROR_ARGUMENT);
  CHECK(tcc_einsum(g, "ij,jk->", 1, &a, &c) != TCC_OK);
  CHECK(tcc_dim("not a name") == 0 && strstr(tcc_last_error(), "C identifier") != NULL);
  tcc_compiled* f = NULL;
  CHECK(tcc_compile(g, 0, NULL, &f) == TCC_ERROR_ARGUMENT && f == NULL);
  CHECK(tcc_run(NULL, 0, NULL, 0, NULL) == TCC_ERROR_ARGUMENT);
  tcc_graph_destroy(g);
  tcc_graph_destroy(NULL);
  tcc_compiled_destroy(NULL);
}

int main(void) {
  batch_matmul();
  strided();
  ops();
  errors();
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
