// Random pipelines of map / filter / flat_map / combine_per_key /
// group_by_key / join / count_per_element over random inputs give the same
// multiset of results as a plain reference interpreter, at parallelism 1, 2
// and 4, with batch size 1, with fusion and combiner lifting off, and in
// streaming mode.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <runnel/runnel.hpp>

namespace {
using namespace runnel;
using Rec = std::pair<std::int64_t, std::int64_t>;
constexpr std::int64_t kKeys = 50;

struct Step {
  int kind = 0;  // see apply_reference
  int a = 0;
  int b = 0;
};

std::vector<Rec> side_table(const Step& s) {
  std::vector<Rec> side;
  for (int i = 0; i < s.b; ++i) side.emplace_back(i % kKeys, static_cast<std::int64_t>(i) * s.a);
  return side;
}

// The reference: each step over a plain vector.
std::vector<Rec> apply_reference(const Step& s, const std::vector<Rec>& in) {
  std::vector<Rec> out;
  switch (s.kind) {
    case 0:  // map
      for (auto [k, v] : in) out.emplace_back((k * s.a + s.b) % kKeys, v + s.a);
      break;
    case 1:  // filter
      for (auto r : in) {
        if ((r.first + r.second + s.a) % 3 != 0) out.push_back(r);
      }
      break;
    case 2:  // flat_map: zero, one or two outputs
      for (auto [k, v] : in) {
        if (v % 5 == s.a % 5) continue;
        out.emplace_back(k, v);
        if (v % 2 == 0) out.emplace_back((k + s.a) % kKeys, v / 2);
      }
      break;
    case 3: {  // combine_per_key(sum)
      std::map<std::int64_t, std::int64_t> sums;
      for (auto [k, v] : in) sums[k] += v;
      out.assign(sums.begin(), sums.end());
      break;
    }
    case 4: {  // group_by_key, then (k, count * 1000 + sum % 1000)
      std::map<std::int64_t, std::vector<std::int64_t>> groups;
      for (auto [k, v] : in) groups[k].push_back(v);
      for (auto& [k, vs] : groups) {
        std::int64_t sum = 0;
        for (auto v : vs) sum += v;
        out.emplace_back(k, static_cast<std::int64_t>(vs.size()) * 1000 + sum % 1000);
      }
      break;
    }
    case 5: {  // join_inner with a side table, (k, v1 + v2)
      auto side = side_table(s);
      for (auto [k, v] : in) {
        for (auto [k2, w] : side) {
          if (k == k2) out.emplace_back(k, v + w);
        }
      }
      break;
    }
    case 6: {  // count_per_element, then (k, v + count)
      std::map<Rec, std::int64_t> counts;
      for (auto r : in) ++counts[r];
      for (auto& [r, c] : counts) out.emplace_back(r.first, r.second + c);
      break;
    }
  }
  return out;
}

PCollection<Rec> apply_runnel(Pipeline& p, const Step& s, const PCollection<Rec>& in) {
  switch (s.kind) {
    case 0:
      return in.map(
          [s](const Rec& r) { return Rec((r.first * s.a + s.b) % kKeys, r.second + s.a); });
    case 1:
      return in.filter([s](const Rec& r) { return (r.first + r.second + s.a) % 3 != 0; });
    case 2:
      return in.flat_map([s](const Rec& r, Emitter<Rec>& out) {
        if (r.second % 5 == s.a % 5) return;
        out.emit(r);
        if (r.second % 2 == 0) out.emit(Rec((r.first + s.a) % kKeys, r.second / 2));
      });
    case 3:
      return in.sum_per_key();
    case 4:
      return in.group_by_key().map([](const std::pair<std::int64_t, std::vector<std::int64_t>>& g) {
        std::int64_t sum = 0;
        for (auto v : g.second) sum += v;
        return Rec(g.first, static_cast<std::int64_t>(g.second.size()) * 1000 + sum % 1000);
      });
    case 5:
      return join_inner(in, p.create(side_table(s))).map([](const std::pair<std::int64_t, Rec>& j) {
        return Rec(j.first, j.second.first + j.second.second);
      });
    default:
      return in.count_per_element().map([](const std::pair<Rec, std::uint64_t>& c) {
        return Rec(c.first.first, c.first.second + static_cast<std::int64_t>(c.second));
      });
  }
}

std::vector<Rec> run_runnel(const std::vector<Step>& steps, const std::vector<Rec>& input,
                            PipelineOptions o) {
  Pipeline p(o);
  PCollection<Rec> c = p.create(input);
  for (const auto& s : steps) c = apply_runnel(p, s, c);
  auto out = c.collect();
  p.run();
  return out.sorted();
}

PipelineOptions config(int parallelism, std::size_t batch_size, bool lift, bool fuse) {
  PipelineOptions o;
  o.parallelism = parallelism;
  o.batch_size = batch_size;
  o.lift_combiners = lift;
  o.fuse = fuse;
  return o;
}

rc::Gen<Step> gen_step() {
  return rc::gen::build<Step>(rc::gen::set(&Step::kind, rc::gen::inRange(0, 7)),
                              rc::gen::set(&Step::a, rc::gen::inRange(0, 10)),
                              rc::gen::set(&Step::b, rc::gen::inRange(0, 60)));
}

RC_GTEST_PROP(PipelineProperty, SameResultsAtAnyParallelismAndBatchSize, ()) {
  auto steps = *rc::gen::resize(5, rc::gen::container<std::vector<Step>>(gen_step()));
  auto input = *rc::gen::container<std::vector<Rec>>(rc::gen::pair(
      rc::gen::inRange<std::int64_t>(0, kKeys), rc::gen::inRange<std::int64_t>(0, 100)));
  std::vector<Rec> expected = input;
  for (const auto& s : steps) expected = apply_reference(s, expected);
  std::sort(expected.begin(), expected.end());

  RC_ASSERT(run_runnel(steps, input, config(1, 1024, true, true)) == expected);
  RC_ASSERT(run_runnel(steps, input, config(2, 1024, true, true)) == expected);
  RC_ASSERT(run_runnel(steps, input, config(4, 1024, true, true)) == expected);
  RC_ASSERT(run_runnel(steps, input, config(2, 1, true, true)) == expected);
  RC_ASSERT(run_runnel(steps, input, config(3, 3, false, false)) == expected);
  // The same pipeline in streaming mode (the plan fuzzer's check, as Velox's):
  // over a bounded input, what the global window holds at its end.
  PipelineOptions streaming = config(2, 7, true, true);
  streaming.mode = ExecutionMode::kStreaming;
  RC_ASSERT(run_runnel(steps, input, streaming) == expected);
}

}  // namespace
