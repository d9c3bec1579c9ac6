#pragma once
// The result rows of the Nexmark queries. Field names are the result columns
// of the nexmark/nexmark project's Flink SQL, so `--sink file` writes JSON
// lines any other tool can check. Times are epoch milliseconds.
#include <cstdint>
#include <string>

#include <runnel/fields.hpp>

namespace runnel::nexmark {

// q0, q7: a bid as the queries select it.
struct BidRow {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::int64_t dateTime = 0;
  std::string extra;
};
RUNNEL_FIELDS(BidRow, auction, bidder, price, dateTime, extra);

struct Q1Row {  // the price in euros
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  double price = 0;
  std::int64_t dateTime = 0;
  std::string extra;
};
RUNNEL_FIELDS(Q1Row, auction, bidder, price, dateTime, extra);

struct Q2Row {
  std::int64_t auction = 0;
  std::int64_t price = 0;
};
RUNNEL_FIELDS(Q2Row, auction, price);

struct Q3Row {
  std::string name;
  std::string city;
  std::string state;
  std::int64_t id = 0;  // the auction
};
RUNNEL_FIELDS(Q3Row, name, city, state, id);

struct Q4Row {
  std::int64_t id = 0;     // the category
  std::int64_t final = 0;  // average winning price, truncated (Flink's AVG of BIGINT)
};
RUNNEL_FIELDS(Q4Row, id, final);

struct Q5Row {
  std::int64_t auction = 0;
  std::int64_t num = 0;
  std::int64_t starttime = 0;
  std::int64_t endtime = 0;
};
RUNNEL_FIELDS(Q5Row, auction, num, starttime, endtime);

struct Q6Row {
  std::int64_t seller = 0;
  std::int64_t avg = 0;  // of the last 10 closed auctions' winning prices, truncated
};
RUNNEL_FIELDS(Q6Row, seller, avg);

struct Q8Row {
  std::int64_t id = 0;
  std::string name;
  std::int64_t stime = 0;
};
RUNNEL_FIELDS(Q8Row, id, name, stime);

struct Q9Row {  // an auction and its winning bid
  std::int64_t id = 0;
  std::string itemName;
  std::string description;
  std::int64_t initialBid = 0;
  std::int64_t reserve = 0;
  std::int64_t dateTime = 0;
  std::int64_t expires = 0;
  std::int64_t seller = 0;
  std::int64_t category = 0;
  std::string extra;
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::int64_t bid_dateTime = 0;
  std::string bid_extra;
};
RUNNEL_FIELDS(Q9Row, id, itemName, description, initialBid, reserve, dateTime, expires, seller,
              category, extra, auction, bidder, price, bid_dateTime, bid_extra);

struct Q10Row {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::int64_t dateTime = 0;
  std::string extra;
  std::string dt;  // yyyy-MM-dd (UTC)
  std::string hm;  // HH:mm
};
RUNNEL_FIELDS(Q10Row, auction, bidder, price, dateTime, extra, dt, hm);

struct BidCountRow {  // q11, q12
  std::int64_t bidder = 0;
  std::int64_t bid_count = 0;
  std::int64_t starttime = 0;
  std::int64_t endtime = 0;
};
RUNNEL_FIELDS(BidCountRow, bidder, bid_count, starttime, endtime);

struct Q13Row {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::int64_t dateTime = 0;
  std::string value;
};
RUNNEL_FIELDS(Q13Row, auction, bidder, price, dateTime, value);

struct Q14Row {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  double price = 0;
  std::string bidTimeType;
  std::int64_t dateTime = 0;
  std::string extra;
  std::int64_t c_counts = 0;
};
RUNNEL_FIELDS(Q14Row, auction, bidder, price, bidTimeType, dateTime, extra, c_counts);

struct Q15Row {
  std::string day;
  std::int64_t total_bids = 0;
  std::int64_t rank1_bids = 0;
  std::int64_t rank2_bids = 0;
  std::int64_t rank3_bids = 0;
  std::int64_t total_bidders = 0;
  std::int64_t rank1_bidders = 0;
  std::int64_t rank2_bidders = 0;
  std::int64_t rank3_bidders = 0;
  std::int64_t total_auctions = 0;
  std::int64_t rank1_auctions = 0;
  std::int64_t rank2_auctions = 0;
  std::int64_t rank3_auctions = 0;
};
RUNNEL_FIELDS(Q15Row, day, total_bids, rank1_bids, rank2_bids, rank3_bids, total_bidders,
              rank1_bidders, rank2_bidders, rank3_bidders, total_auctions, rank1_auctions,
              rank2_auctions, rank3_auctions);

struct Q16Row {
  std::string channel;
  std::string day;
  std::string minute;  // the latest HH:mm seen
  std::int64_t total_bids = 0;
  std::int64_t rank1_bids = 0;
  std::int64_t rank2_bids = 0;
  std::int64_t rank3_bids = 0;
  std::int64_t total_bidders = 0;
  std::int64_t rank1_bidders = 0;
  std::int64_t rank2_bidders = 0;
  std::int64_t rank3_bidders = 0;
  std::int64_t total_auctions = 0;
  std::int64_t rank1_auctions = 0;
  std::int64_t rank2_auctions = 0;
  std::int64_t rank3_auctions = 0;
};
RUNNEL_FIELDS(Q16Row, channel, day, minute, total_bids, rank1_bids, rank2_bids, rank3_bids,
              total_bidders, rank1_bidders, rank2_bidders, rank3_bidders, total_auctions,
              rank1_auctions, rank2_auctions, rank3_auctions);

struct Q17Row {
  std::int64_t auction = 0;
  std::string day;
  std::int64_t total_bids = 0;
  std::int64_t rank1_bids = 0;
  std::int64_t rank2_bids = 0;
  std::int64_t rank3_bids = 0;
  std::int64_t min_price = 0;
  std::int64_t max_price = 0;
  std::int64_t avg_price = 0;  // truncated
  std::int64_t sum_price = 0;
};
RUNNEL_FIELDS(Q17Row, auction, day, total_bids, rank1_bids, rank2_bids, rank3_bids, min_price,
              max_price, avg_price, sum_price);

// q18: a bid with all its fields.
struct FullBidRow {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::string channel;
  std::string url;
  std::int64_t dateTime = 0;
  std::string extra;
};
RUNNEL_FIELDS(FullBidRow, auction, bidder, price, channel, url, dateTime, extra);

struct Q19Row {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::string channel;
  std::string url;
  std::int64_t dateTime = 0;
  std::string extra;
  std::int64_t rank_number = 0;  // 1 for the highest
};
RUNNEL_FIELDS(Q19Row, auction, bidder, price, channel, url, dateTime, extra, rank_number);

struct Q20Row {  // a bid and its auction (category 10)
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::string channel;
  std::string url;
  std::int64_t dateTime = 0;
  std::string extra;
  std::string itemName;
  std::string description;
  std::int64_t initialBid = 0;
  std::int64_t reserve = 0;
  std::int64_t auction_dateTime = 0;
  std::int64_t expires = 0;
  std::int64_t seller = 0;
  std::int64_t category = 0;
  std::string auction_extra;
};
RUNNEL_FIELDS(Q20Row, auction, bidder, price, channel, url, dateTime, extra, itemName, description,
              initialBid, reserve, auction_dateTime, expires, seller, category, auction_extra);

struct Q21Row {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::string channel;
  std::string channel_id;
};
RUNNEL_FIELDS(Q21Row, auction, bidder, price, channel, channel_id);

struct Q22Row {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::string channel;
  std::string dir1;
  std::string dir2;
  std::string dir3;
};
RUNNEL_FIELDS(Q22Row, auction, bidder, price, channel, dir1, dir2, dir3);

// Ties the SQL leaves open, broken so every run gives the same rows:
// q9's winning bid is the highest price, then the earliest, then the smallest
// bidder and extra; q18's latest bid is the latest time, then the highest
// price, then the largest bidder and extra; q19 ranks as q9 does.

// q13's side input: key k (0..9999) has the value "value-k".
inline constexpr std::int64_t kSideInputKeys = 10'000;

}  // namespace runnel::nexmark
