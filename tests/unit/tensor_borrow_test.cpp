// Tensor::borrow (tensor.h): a tensor over memory it does not own, kept alive by an owner.
// No copy is made, every copy and view of the tensor holds the owner, element alignment is
// checked (and no more is asked), and a compiled graph reads borrowed feeds and writes
// borrowed outputs in place.
#include <tcc/tcc.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

namespace {

using tcc::Tensor;

// 64-byte-aligned floats owned by a shared_ptr whose release the test can observe.
struct OwnedBlock {
  std::shared_ptr<void> owner;
  float* data = nullptr;
};

OwnedBlock aligned_block(size_t floats, bool* released) {
  void* p = std::aligned_alloc(tcc::kTensorAlignment, (floats * sizeof(float) + 63) / 64 * 64);
  return {std::shared_ptr<void>(p, [released](void* q) { *released = true; std::free(q); }), static_cast<float*>(p)};
}

TEST(TensorBorrow, SharesTheMemoryAndHoldsTheOwnerUntilTheLastCopyGoes) {
  bool released = false;
  OwnedBlock block = aligned_block(6, &released);
  for (int i = 0; i < 6; ++i) block.data[i] = static_cast<float>(i);
  Tensor t = Tensor::borrow(tcc::f32, {2, 3}, block.data, std::move(block.owner));
  EXPECT_EQ(t.data(), block.data);  // no copy
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  Tensor view = t.reshaped({3, 2});
  EXPECT_EQ(view.data(), block.data);
  t = Tensor();
  EXPECT_FALSE(released) << "a view still holds the owner";
  view = Tensor();
  EXPECT_TRUE(released);
}

TEST(TensorBorrow, NullOwnerLeavesTheLifetimeToTheCaller) {
  alignas(64) float data[4] = {1, 2, 3, 4};
  Tensor t = Tensor::borrow(tcc::f32, {4}, data, nullptr);
  EXPECT_TRUE(t.defined());
  EXPECT_EQ(t.data(), static_cast<void*>(data));
}

TEST(TensorBorrow, RefusesMisalignedOrNullDataAndBadShapes) {
  alignas(64) float data[32] = {};
  try {
    Tensor::borrow(tcc::f32, {4}, reinterpret_cast<char*>(data) + 2, nullptr);
    FAIL() << "data not aligned to its elements accepted";
  } catch (const tcc::ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("not aligned to its f32 elements"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Tensor::borrow(tcc::f32, {4}, data + 1, nullptr).data(), data + 1);  // element alignment is enough
  EXPECT_THROW(Tensor::borrow(tcc::f32, {4}, nullptr, nullptr), tcc::ArgumentError);
  EXPECT_THROW(Tensor::borrow(tcc::f32, {-1, 4}, data, nullptr), tcc::ShapeError);
  EXPECT_THROW(Tensor::borrow(tcc::f32, {tcc::dim("N"), 4}, data, nullptr), tcc::ShapeError);
}

TEST(TensorBorrow, CompiledGraphReadsBorrowedFeedsAndWritesBorrowedOutputsInPlace) {
  tcc::Graph g;
  auto a = g.input("a", tcc::f32, {2, 3});
  auto b = g.input("b", tcc::f32, {3, 2});
  auto fn = g.compile({tcc::matmul(a, b)});
  alignas(64) float a_data[6] = {1, 2, 3, 4, 5, 6};
  alignas(64) float b_data[6] = {1, 0, 0, 1, 1, 1};
  alignas(64) float out_data[4] = {-1, -1, -1, -1};
  std::vector<Tensor> outs{Tensor::borrow(tcc::f32, {2, 2}, out_data, nullptr)};
  fn.run({{"a", Tensor::borrow(tcc::f32, {2, 3}, a_data, nullptr)}, {"b", Tensor::borrow(tcc::f32, {3, 2}, b_data, nullptr)}},
         outs);
  EXPECT_EQ(outs[0].data(), static_cast<void*>(out_data)) << "a fitting borrowed output is written in place";
  EXPECT_EQ(std::vector<float>(out_data, out_data + 4), (std::vector<float>{4, 5, 10, 11}));
}

}  // namespace
