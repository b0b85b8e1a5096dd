/* tcc's C API: build a graph of contractions, compile it, run it on the caller's buffers.
 *
 *   tcc_graph* g;          tcc_graph_create(&g);
 *   int64_t s[3] = {10, 4, 5}, t[3] = {10, 5, 8};
 *   tcc_value a, b, c;     tcc_input(g, "a", TCC_F32, 3, s, &a);  tcc_input(g, "b", TCC_F32, 3, t, &b);
 *   tcc_matmul(g, a, b, 0, &c);
 *   tcc_compiled* f;       tcc_compile(g, 1, &c, &f);
 *   tcc_buffer in[2] = {{"a", a_data, TCC_F32, 3, s, NULL}, {"b", b_data, TCC_F32, 3, t, NULL}};
 *   tcc_buffer out = {"c", c_data, TCC_F32, 3, c_shape, NULL};
 *   if (tcc_run(f, 2, in, 1, &out) != TCC_OK) fprintf(stderr, "%s\n", tcc_last_error());
 *
 * Every call returns a status; on failure tcc_last_error() gives the message (per thread, until
 * the thread's next failing call). No C++ exception crosses this API. Shapes follow
 * docs/spec/semantics.md exactly; a symbolic dimension is tcc_dim("N") in a shape.
 * Handles are not thread-safe to build concurrently; a compiled graph may run on several
 * threads at once. */
#ifndef TCC_C_H
#define TCC_C_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tcc_status {
  TCC_OK = 0,
  TCC_ERROR_SHAPE = 1,         /* shapes an op or a run cannot take */
  TCC_ERROR_ARGUMENT = 2,      /* a malformed argument (a bad axis list, a NULL handle ...) */
  TCC_ERROR_INPUT = 3,         /* a run's buffers: missing, of the wrong type or shape */
  TCC_ERROR_COMPILE = 4,       /* what this version cannot compile yet */
  TCC_ERROR_OUT_OF_MEMORY = 5,
  TCC_ERROR_INTERNAL = 6       /* a bug in tcc: please report it with the message */
} tcc_status;

typedef enum tcc_dtype { TCC_F32 = 0, TCC_F64 = 1, TCC_I32 = 2, TCC_I64 = 3 } tcc_dtype;

typedef struct tcc_graph tcc_graph;
typedef struct tcc_compiled tcc_compiled;
typedef int32_t tcc_value; /* a value of one graph */

/* The message of this thread's last failed call ("" if none). */
const char* tcc_last_error(void);
/* The symbolic dimension `name` (a C identifier) for use in shapes, or 0 with an error. */
int64_t tcc_dim(const char* name);

tcc_status tcc_graph_create(tcc_graph** graph);
void tcc_graph_destroy(tcc_graph* graph); /* NULL is fine */

/* A named input; its `rank` extents (sizes >= 0 or tcc_dim codes) are copied. */
tcc_status tcc_input(tcc_graph* g, const char* name, tcc_dtype dtype, int rank, const int64_t* shape, tcc_value* out);
/* Keras K.dot. */
tcc_status tcc_dot(tcc_graph* g, tcc_value x, tcc_value y, tcc_value* out);
/* tf.matmul; flags: any of the TCC_* below, or-ed. */
enum { TCC_TRANSPOSE_A = 1, TCC_TRANSPOSE_B = 2, TCC_ADJOINT_A = 4, TCC_ADJOINT_B = 8 };
tcc_status tcc_matmul(tcc_graph* g, tcc_value a, tcc_value b, int flags, tcc_value* out);
/* Keras K.batch_dot: n_axes 0 (None), 1 (an int) or 2 (a pair); convention: -1 the default
 * (modern), 0 modern, 1 legacy (Keras <= 2.2.4). */
tcc_status tcc_batch_dot(tcc_graph* g, tcc_value x, tcc_value y, int n_axes, const int64_t* axes, int convention,
                         tcc_value* out);
/* numpy.tensordot with axes = n. */
tcc_status tcc_tensordot(tcc_graph* g, tcc_value x, tcc_value y, int64_t n, tcc_value* out);
/* numpy.tensordot with axes = (x_axes, y_axes), `count` of each. */
tcc_status tcc_tensordot_axes(tcc_graph* g, tcc_value x, tcc_value y, int count, const int64_t* x_axes,
                              const int64_t* y_axes, tcc_value* out);
/* numpy.einsum over `count` operands. */
tcc_status tcc_einsum(tcc_graph* g, const char* spec, int count, const tcc_value* operands, tcc_value* out);
/* numpy.transpose; perm NULL (with count 0) reverses the axes. */
tcc_status tcc_transpose(tcc_graph* g, tcc_value x, int count, const int64_t* perm, tcc_value* out);
/* numpy.reshape (one entry may be -1). */
tcc_status tcc_reshape(tcc_graph* g, tcc_value x, int rank, const int64_t* shape, tcc_value* out);
/* A value's dtype and shape: *rank is set; at most `capacity` extents are written to shape. */
tcc_status tcc_value_type(const tcc_graph* g, tcc_value v, tcc_dtype* dtype, int* rank, int64_t* shape, int capacity);

/* Compiles the values `outputs` (JIT for this CPU; kernels are cached in memory and on disk). */
tcc_status tcc_compile(const tcc_graph* g, int count, const tcc_value* outputs, tcc_compiled** out);
void tcc_compiled_destroy(tcc_compiled* f); /* NULL is fine */

/* A caller's array: `rank` extents, and strides in elements (NULL: dense, C order). Strides
 * may be any non-negative values; outputs must not overlap each other or the inputs. */
typedef struct tcc_buffer {
  const char* name; /* the input's name; ignored for outputs (they go in compile order) */
  void* data;
  tcc_dtype dtype;
  int rank;
  const int64_t* shape;
  const int64_t* strides;
} tcc_buffer;

/* Runs a compiled graph: every input it reads by name, and one buffer per output, in the
 * order given to tcc_compile, of the output's dtype and shape (with the inputs' sizes for
 * symbolic dimensions). Nothing is written unless the call succeeds. */
tcc_status tcc_run(const tcc_compiled* f, int n_inputs, const tcc_buffer* inputs, int n_outputs, const tcc_buffer* outputs);

#ifdef __cplusplus
}
#endif

#endif
