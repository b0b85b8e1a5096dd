/* Links the object `tcc compile` made from aot_graph.tc into a plain C program: fills the
 * inputs, calls the graph and writes inputs and outputs as .npy files into argv[1] so that
 * aot.test can compare them with `tcc run` on the same inputs. Needs only libc. */
#include "aot_graph.h"

#include <stdio.h>
#include <string.h>

static int write_npy(const char* dir, const char* name, const char* descr, const void* data, size_t elem_size,
                     const int* shape, int rank) {
  char path[4096], dict[256], dims[128] = "";
  size_t count = 1;
  for (int i = 0; i < rank; ++i) {
    char d[32];
    snprintf(d, sizeof d, "%d,%s", shape[i], (rank > 1 && i + 1 < rank) ? " " : "");
    strcat(dims, d);
    count *= (size_t)shape[i];
  }
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
  int header_len = 10 + n + 1;
  int pad = (64 - header_len % 64) % 64;
  unsigned short len = (unsigned short)(n + pad + 1);
  snprintf(path, sizeof path, "%s/%s.npy", dir, name);
  FILE* f = fopen(path, "wb");
  if (!f) return 1;
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(len & 0xff, f);
  fputc(len >> 8, f);
  fwrite(dict, 1, (size_t)n, f);
  for (int i = 0; i < pad; ++i) fputc(' ', f);
  fputc('\n', f);
  fwrite(data, elem_size, count, f);
  return fclose(f) != 0;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  static float a[3 * 4 * 5], b[5 * 6], unused[2], h[3 * 4 * 6], s[4 * 6], t[3 * 5 * 5], h_1[3 * 4 * 6];
  static int32_t n[4 * 3], k[4 * 4];
  static double c[5 * 5];
  for (int i = 0; i < 60; ++i) a[i] = (float)((i * 7) % 11) / 4.0f - 1.0f;
  for (int i = 0; i < 30; ++i) b[i] = (float)((i * 5) % 13) / 8.0f - 0.5f;
  /* Large values make the i32 products wrap around, as NumPy's int32 does. */
  for (int i = 0; i < 12; ++i) n[i] = (i % 2 ? 1 : -1) * (100000 + 7919 * i);
  if (aot_graph(a, b, unused, n, h, s, t, k, h_1, c) != 0) return 3;
  int sa[] = {3, 4, 5}, sb[] = {5, 6}, sn[] = {4, 3}, sh[] = {3, 4, 6}, ss[] = {4, 6}, st[] = {3, 5, 5}, sk[] = {4, 4}, sc[] = {5, 5};
  int err = write_npy(argv[1], "a", "<f4", a, 4, sa, 3) | write_npy(argv[1], "b", "<f4", b, 4, sb, 2) |
            write_npy(argv[1], "n", "<i4", n, 4, sn, 2) | write_npy(argv[1], "h", "<f4", h, 4, sh, 3) |
            write_npy(argv[1], "s", "<f4", s, 4, ss, 2) | write_npy(argv[1], "t", "<f4", t, 4, st, 3) |
            write_npy(argv[1], "k", "<i4", k, 4, sk, 2) | write_npy(argv[1], "h_1", "<f4", h_1, 4, sh, 3) |
            write_npy(argv[1], "c", "<f8", c, 8, sc, 2);
  return err ? 4 : 0;
}
