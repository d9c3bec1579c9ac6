// Revenue per SKU from CSV sales records: the README's pipeline.
//   revenue --input 'examples/data/sales.csv' --output revenue/
#include <runnel/runnel.hpp>
using namespace runnel;

struct Sale {
  std::string sku;
  int quantity = 0;
  double price = 0;
};
RUNNEL_FIELDS(Sale, sku, quantity, price);  // CSV, JSON, coder and hashing for free

int main(int argc, char** argv) {
  return run_main(argc, argv, [](Pipeline& p, const Options& o) {
    p.read(o.source<Sale>())  // bad lines go to OUTPUT/_rejected/
        .map([](const Sale& s) { return std::make_pair(s.sku, s.quantity * s.price); })
        .sum_per_key()     // pre-aggregated before the shuffle
        .write(o.sink());  // OUTPUT/part-NNNNN.csv, then _SUCCESS
  });
}
