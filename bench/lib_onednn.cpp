// oneDNN matmul primitive, created once per problem and thread count; a batched problem is one
// 3-D matmul (batch dims flattened), a shared B is a batch dim of size 1 (oneDNN broadcasts it),
// a transposed B is expressed with strides. oneDNN 2.x has no f64 matmul.
#include <omp.h>

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "bench.h"

namespace tcc_bench {
namespace {

struct Engine {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};
Engine& engine() {
  static Engine instance;
  return instance;
}

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    default: return "other";
  }
}

struct Primitive {
  dnnl::matmul matmul;
  dnnl::memory a, b, c;
};

PreparedCall prepare(const Problem& p, ProblemData& data, int threads) {
  using dnnl::memory;
  if (p.dtype != tcc::f32) throw Unsupported("oneDNN 2.x has no f64 matmul");
  omp_set_num_threads(threads);  // oneDNN sizes its parallel work when the primitive is created
  const memory::data_type f32 = memory::data_type::f32;
  const memory::dim batch = p.batch(), m = p.m, n = p.n, k = p.k;
  memory::desc a_md, b_md, c_md;
  if (p.batch_dims.empty()) {
    a_md = memory::desc({m, k}, f32, memory::dims{k, 1});
    b_md = memory::desc({k, n}, f32, p.transpose_b ? memory::dims{1, k} : memory::dims{n, 1});
    c_md = memory::desc({m, n}, f32, memory::dims{n, 1});
  } else {
    memory::dim b_batch = p.shared_b ? 1 : batch;
    a_md = memory::desc({batch, m, k}, f32, memory::dims{m * k, k, 1});
    b_md = memory::desc({b_batch, k, n}, f32, p.transpose_b ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
    c_md = memory::desc({batch, m, n}, f32, memory::dims{m * n, n, 1});
  }
  auto primitive = std::make_shared<Primitive>();
  try {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), engine().engine);
    primitive->matmul = dnnl::matmul(pd);
  } catch (const dnnl::error& e) {
    throw Unsupported(std::string("oneDNN matmul: ") + e.what());
  }
  primitive->a = memory(a_md, engine().engine, data.a.data());
  primitive->b = memory(b_md, engine().engine, data.b.data());
  primitive->c = memory(c_md, engine().engine, data.c.data());
  PreparedCall call;
  call.activate = [threads] { omp_set_num_threads(threads); };
  call.run = [primitive] {
    primitive->matmul.execute(engine().stream, {{DNNL_ARG_SRC, primitive->a},
                                                {DNNL_ARG_WEIGHTS, primitive->b},
                                                {DNNL_ARG_DST, primitive->c}});
    engine().stream.wait();
  };
  const void* c = data.c.data();
  call.result = [c] { return c; };
  return call;
}

}  // namespace

Library make_onednn_library() {
  Library library;
  library.name = "oneDNN";
  library.applies = [](const Problem& p) { return p.dtype == tcc::f32; };
  library.prepare = prepare;
  library.describe = [] {
    const dnnl_version_t* v = dnnl_version();
    return "version " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           (v->cpu_runtime == DNNL_RUNTIME_OMP ? ", OpenMP runtime" : ", non-OpenMP runtime") + ", ISA " +
           isa_name(dnnl::get_effective_cpu_isa());
  };
  return library;
}

}  // namespace tcc_bench
