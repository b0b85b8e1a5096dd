#include "ir/graph/match_attention.h"

#include <algorithm>

namespace tcc::ir {

namespace {

bool is_function(const Node& n, ElemOp op) { return n.op == OpKind::elementwise && n.elem == op; }

// Whether `from` broadcasts to `to` (NumPy's rule, aligned on the right) without stretching `to`.
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t a = 0; a < from.size(); ++a)
    if (from[a] != 1 && from[a] != to[to.size() - from.size() + a]) return false;
  return true;
}

int uses_of(const std::unordered_map<int, int>& uses, int id) {
  auto it = uses.find(id);
  return it == uses.end() ? 0 : it->second;
}

// Whether an operand's axes name each loop dim at most once (no diagonal).
bool no_diagonal(const std::vector<int>& axes) {
  for (size_t a = 0; a < axes.size(); ++a)
    if (axes[a] != IndexSpec::kBroadcast && std::count(axes.begin(), axes.end(), axes[a]) > 1) return false;
  return true;
}

std::vector<bool> names(const std::vector<int>& axes, size_t dims) {
  std::vector<bool> named(dims, false);
  for (int d : axes)
    if (d != IndexSpec::kBroadcast) named[d] = true;
  return named;
}

}  // namespace

std::optional<AttentionMatch> match_attention(const GraphIR& g, int node, const std::unordered_map<int, int>& uses,
                                              std::string* why_not) {
  const Node& out = g.node(node);
  if (!is_product(out) || out.inputs.size() != 2) return std::nullopt;
  // The first operand is tcc::softmax's graph: y = exp(x - lse) + (lse - lse).
  const Node& y = g.node(out.inputs[0]);
  if (!is_function(y, ElemOp::add)) return std::nullopt;
  const Node &exp = g.node(y.inputs[0]), &zero = g.node(y.inputs[1]);
  if (!is_function(exp, ElemOp::exp) || !is_function(zero, ElemOp::sub) || zero.inputs[0] != zero.inputs[1]) return std::nullopt;
  const Node& shifted = g.node(exp.inputs[0]);
  const int lse_id = zero.inputs[0];
  if (!is_function(shifted, ElemOp::sub) || shifted.inputs[1] != lse_id) return std::nullopt;
  const Node& lse = g.node(lse_id);
  const int x_id = shifted.inputs[0];
  if (lse.op != OpKind::reduce || lse.elem != ElemOp::logaddexp || lse.inputs[0] != x_id) return std::nullopt;
  const Node& x = g.node(x_id);

  // A product of a softmax: from here on, say why it does not become one attention step.
  auto fail = [&](const std::string& why) -> std::optional<AttentionMatch> {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  int axis = -1, reduced = 0;
  for (size_t a = 0; a < x.shape.size(); ++a) {
    const int d = lse.spec.operands[0][a];
    if (d != IndexSpec::kBroadcast && std::find(lse.spec.out.begin(), lse.spec.out.end(), d) == lse.spec.out.end()) {
      axis = static_cast<int>(a);
      ++reduced;
    }
  }
  if (reduced != 1 || lse.shape.size() != x.shape.size()) return fail("its softmax is not over one axis");
  if (shifted.shape != x.shape || exp.shape != x.shape || y.shape != x.shape) return fail("its softmax broadcasts its input");

  AttentionMatch m;
  m.output = node;
  // The score expression: element-wise nodes from x down to a product, each of one value of
  // x's shape (the chain) and values that broadcast to it (a scale, a mask, a bias).
  int s_id = x_id;
  while (!is_product(g.node(s_id))) {
    const Node& n = g.node(s_id);
    if (n.op != OpKind::elementwise || n.elem == ElemOp::cast || n.shape != x.shape)
      return fail("its softmax's input is not an element-wise expression of a contraction and values it broadcasts");
    int next = -1;
    for (int in : n.inputs) {
      const Node& p = g.node(in);
      if (next < 0 && p.shape == x.shape && (p.op == OpKind::elementwise || is_product(p))) next = in;
      else if (!broadcasts_to(p.shape, x.shape)) return fail("its score expression reads a tensor that the scores stretch");
    }
    if (next < 0) return fail("its softmax's input is not an element-wise expression of a contraction and values it broadcasts");
    m.score_chain.push_back(s_id);
    s_id = next;
  }
  std::reverse(m.score_chain.begin(), m.score_chain.end());
  m.scores = s_id;
  const Node& s = g.node(s_id);
  if (s.inputs.size() != 2 || s.shape != x.shape) return fail("its scores are not a product of two operands");
  m.q = s.inputs[0], m.k = s.inputs[1], m.v = out.inputs[1];

  // Every value in the pattern has one float dtype.
  const DType dtype = out.dtype;
  std::vector<int> typed{m.q, m.k, m.v, m.scores};
  typed.insert(typed.end(), m.score_chain.begin(), m.score_chain.end());
  for (int c : m.score_chain)
    for (int in : g.node(c).inputs) typed.push_back(in);
  if (!is_float(dtype)) return fail("it is not of a float dtype");
  for (int id : typed)
    if (g.node(id).dtype != dtype) return fail("its operands differ in dtype");

  // The scores: dims of q and k and the result (batch), of q and the result (i, one), of k and
  // the result (j, the softmax axis), of q and k only (e, one, summed).
  const IndexSpec& ss = s.spec;
  const size_t sd = ss.extents.size();
  if (!no_diagonal(ss.operands[0]) || !no_diagonal(ss.operands[1])) return fail("its scores take a diagonal");
  const std::vector<bool> in_q = names(ss.operands[0], sd), in_k = names(ss.operands[1], sd), in_s = names(ss.out, sd);
  m.j = ss.out[axis];
  for (size_t d = 0; d < sd; ++d) {
    const int di = static_cast<int>(d);
    if (in_q[d] && !in_k[d] && in_s[d] && m.i < 0) m.i = di;
    else if (in_q[d] && in_k[d] && !in_s[d] && m.e < 0) m.e = di;
    else if (!(in_q[d] && in_k[d] && in_s[d]) && !(di == m.j && in_k[d] && !in_q[d]))
      return fail("its scores are not q @ kᵀ over one summed axis with the softmax along k's rows");
  }
  if (m.i < 0 || m.e < 0 || in_q[m.j]) return fail("its scores are not q @ kᵀ over one summed axis with the softmax along k's rows");

  // The result: sums the softmax axis with v's rows; y's other axes are its batch and i
  // dims, v's remaining dim is d, the result's last axis.
  const IndexSpec& os = out.spec;
  const size_t od = os.extents.size();
  if (!no_diagonal(os.operands[1])) return fail("it takes a diagonal of v");
  const std::vector<bool> in_y = names(os.operands[0], od), in_v = names(os.operands[1], od), in_o = names(os.out, od);
  for (size_t a = 0; a < x.shape.size(); ++a) {
    const int o = os.operands[0][a], d = ss.out[a];
    if (o == IndexSpec::kBroadcast) return fail("it broadcasts its softmax");
    if (d == m.j) {
      if (in_o[o] || !in_v[o]) return fail("it does not sum the softmax axis with v's rows");
      m.out_j = o;
    } else if (!in_o[o]) {
      return fail("it sums an axis other than the softmax's");
    } else if (d == m.i) {
      if (in_v[o]) return fail("v is indexed by q's rows");
      m.out_i = o;
    } else {
      m.batch.push_back(d);
      m.out_batch.push_back(o);
    }
  }
  for (size_t d = 0; d < od; ++d) {
    if (in_y[d]) continue;
    if (!in_v[d] || !in_o[d] || m.out_d >= 0) return fail("v has more than one axis besides its rows and batch axes");
    m.out_d = static_cast<int>(d);
  }
  if (m.out_d < 0) return fail("v has no axis besides its rows and batch axes");
  if (os.out.back() != m.out_d) return fail("v's columns are not its result's last axis");
  for (int64_t e : {ss.extents[m.i], ss.extents[m.j], ss.extents[m.e], os.extents[m.out_d]})
    if (is_symbol(e) || e == 0) return fail("a size of q, k or v other than a batch size is symbolic or 0");
  constexpr int64_t kMaxHeadDim = 1024;  // a block of q rows is copied to the task's stack
  if (ss.extents[m.e] > kMaxHeadDim) return fail("its summed axis is longer than 1024");

  // Nothing outside the pattern reads what it computes inside.
  bool private_values = uses_of(uses, lse_id) == 3 && uses_of(uses, shifted.id) == 1 && uses_of(uses, exp.id) == 1 &&
                        uses_of(uses, zero.id) == 1 && uses_of(uses, y.id) == 1 && uses_of(uses, x_id) == 2;
  for (int c : m.score_chain)
    if (c != x_id) private_values = private_values && uses_of(uses, c) == 1;
  if (s_id != x_id) private_values = private_values && uses_of(uses, s_id) == 1;
  if (!private_values) return fail("its scores or softmax are read by another node too, or are an output");

  m.absorbed = {m.scores, lse_id, shifted.id, exp.id, zero.id, y.id};
  m.absorbed.insert(m.absorbed.end(), m.score_chain.begin(), m.score_chain.end());
  return m;
}

}  // namespace tcc::ir
