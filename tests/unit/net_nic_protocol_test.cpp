// Host tests for the NIC protocol (<tern/protocols/nic.h>): the descriptor codec both
// ways, the checks of a peer's counts, the buffer ledger's every transfer and refusal, and
// a long random exchange between a simulated driver and server over one ledger, where
// every buffer must always have exactly one owner and no frame may be lost or duplicated.

#include <catch2/catch.hpp>

#include <tern/protocols/nic.h>

#include <deque>
#include <memory>
#include <random>
#include <set>
#include <vector>

using base::Error;
using tern::nic::Descriptor;
using tern::nic::Geometry;
using tern::nic::Ledger;
using tern::nic::SyncRequest;
using tern::nic::SyncResponse;
namespace nic = tern::nic;

namespace {

std::unique_ptr<Ledger> make_ledger(uint32_t rx, uint32_t tx, uint32_t max_frame = 1514) {
    auto ledger = std::make_unique<Ledger>();
    REQUIRE(ledger->reset({rx, tx}, max_frame) == Error::OK);
    return ledger;
}

} // namespace

TEST_CASE("descriptors pack index and length into one word") {
    for (Descriptor d : {Descriptor{0, 0}, Descriptor{511, 1514}, Descriptor{0xFFFF, 0xFFFF}}) {
        Descriptor back = nic::unpack(nic::pack(d));
        CHECK(back.index == d.index);
        CHECK(back.length == d.length);
    }
    CHECK(nic::pack({3, 60}) == (3u | (60u << 16)));
}

TEST_CASE("the geometry places receive buffers before transmit buffers") {
    Geometry g{4, 2};
    CHECK(g.valid());
    CHECK(g.rx_offset(0) == 0);
    CHECK(g.rx_offset(3) == 3 * nic::kBufferSize);
    CHECK(g.tx_offset(0) == 4 * nic::kBufferSize);
    CHECK(g.area_size() == 6 * nic::kBufferSize);
    CHECK(g.area_size() % 4096 == 0);
    CHECK_FALSE(Geometry{0, 2}.valid());
    CHECK_FALSE(Geometry{2, 0}.valid());
    CHECK_FALSE(Geometry{3, 2}.valid()); // not whole pages
    CHECK_FALSE(Geometry{nic::kMaxBuffersPerDirection + 1, 1}.valid());
    CHECK(Geometry{nic::kMaxBuffersPerDirection, nic::kMaxBuffersPerDirection}.valid());
}

TEST_CASE("a sync request carries received frames, then transmit buffers done") {
    Descriptor rx[] = {{1, 60}, {2, 1514}};
    uint16_t done[] = {7, 8, 9};
    SyncRequest req;
    nic::Packed packed = nic::encode_sync(req, 0x10003, rx, done);
    CHECK(packed.first == 2);
    CHECK(packed.second == 3);
    CHECK(req.nic == 0x10003);
    CHECK(req.rx_count == 2);
    CHECK(req.tx_done_count == 3);
    CHECK(nic::check_sync(req) == Error::OK);
    CHECK(nic::unpack(req.entries[1]).length == 1514);
    CHECK(nic::unpack(req.entries[2]).index == 7);
    CHECK(nic::unpack(req.entries[4]).index == 9);
}

TEST_CASE("a sync takes at most kSyncEntries descriptors and says how many went in") {
    std::vector<Descriptor> rx(10, Descriptor{1, 64});
    std::vector<uint16_t> done(10, 3);
    SyncRequest req;
    nic::Packed packed =
        nic::encode_sync(req, 1, {rx.data(), rx.size()}, {done.data(), done.size()});
    CHECK(packed.first == 10);
    CHECK(packed.second == nic::kSyncEntries - 10);
    CHECK(uint32_t(req.rx_count) + req.tx_done_count == nic::kSyncEntries);

    std::vector<uint16_t> free_rx(20, 5);
    std::vector<Descriptor> tx(5, Descriptor{2, 100});
    SyncResponse resp;
    packed = nic::encode_sync(resp, {free_rx.data(), free_rx.size()}, {tx.data(), tx.size()});
    CHECK(packed.first == nic::kSyncEntries);
    CHECK(packed.second == 0);
    CHECK(nic::check_sync(resp) == Error::OK);
}

TEST_CASE("counts that overrun the entries and unknown flags are refused") {
    SyncRequest req{};
    req.rx_count = 10;
    req.tx_done_count = 5;
    CHECK(nic::check_sync(req) == Error::INVALID_ARGUMENT);
    req.tx_done_count = 4;
    CHECK(nic::check_sync(req) == Error::OK);
    req.flags = 2;
    CHECK(nic::check_sync(req) == Error::INVALID_ARGUMENT);
    // Counts up to 255 each fit the fields; any sum over the entries is refused.
    req = {};
    req.rx_count = 255;
    req.tx_done_count = 255;
    CHECK(nic::check_sync(req) == Error::INVALID_ARGUMENT);

    SyncResponse resp{};
    resp.rx_free_count = 14;
    resp.tx_count = 1;
    CHECK(nic::check_sync(resp) == Error::INVALID_ARGUMENT);
    resp.tx_count = 0;
    resp.flags = nic::kSyncMore;
    CHECK(nic::check_sync(resp) == Error::OK);
    resp.flags = 4;
    CHECK(nic::check_sync(resp) == Error::INVALID_ARGUMENT);
}

TEST_CASE("the ledger refuses a geometry or frame size over the limits") {
    Ledger ledger;
    CHECK(ledger.reset({0, 2}, 1514) == Error::INVALID_ARGUMENT);
    CHECK(ledger.reset({2, 2}, nic::kBufferSize + 1) == Error::INVALID_ARGUMENT);
    CHECK(ledger.reset({2, 2}, nic::kMinFrame - 1) == Error::INVALID_ARGUMENT);
    CHECK(ledger.reset({2, 2}, 1514) == Error::OK);
}

TEST_CASE("receive buffers go driver -> server -> driver, and nothing else") {
    auto ledger = make_ledger(4, 4);
    CHECK(ledger->rx_owner(0) == Ledger::Owner::kDriver);
    CHECK(ledger->frame_received({0, 60}) == Error::OK);
    CHECK(ledger->rx_owner(0) == Ledger::Owner::kServer);
    // The same buffer twice: the driver no longer holds it.
    CHECK(ledger->frame_received({0, 60}) == Error::CORRUPT);
    // Out of range, runt and oversized frames.
    CHECK(ledger->frame_received({4, 60}) == Error::CORRUPT);
    CHECK(ledger->frame_received({0xFFFF, 60}) == Error::CORRUPT);
    CHECK(ledger->frame_received({1, nic::kMinFrame - 1}) == Error::CORRUPT);
    CHECK(ledger->frame_received({1, 1515}) == Error::CORRUPT);
    CHECK(ledger->rx_owner(1) == Ledger::Owner::kDriver); // refusals change nothing
    CHECK(ledger->frame_received({1, 1514}) == Error::OK);
    CHECK(ledger->frame_received({2, nic::kMinFrame}) == Error::OK);
    // Returned once; a second return is a double free.
    CHECK(ledger->rx_returned(0) == Error::OK);
    CHECK(ledger->rx_returned(0) == Error::CORRUPT);
    CHECK(ledger->rx_returned(3) == Error::CORRUPT); // never received
    CHECK(ledger->rx_returned(9) == Error::CORRUPT);
}

TEST_CASE("transmit buffers go server -> driver -> server, and run out") {
    auto ledger = make_ledger(2, 2);
    CHECK(ledger->free_tx() == 2);
    auto a = ledger->take_tx();
    auto b = ledger->take_tx();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a.value() != b.value());
    CHECK(ledger->take_tx().error() == Error::NO_SPACE);
    CHECK(ledger->frame_sent({a.value(), 60}) == Error::OK);
    CHECK(ledger->frame_sent({a.value(), 60}) == Error::CORRUPT); // the driver has it
    CHECK(ledger->frame_sent({b.value(), 3000}) == Error::CORRUPT);
    ledger->untake_tx(b.value());
    CHECK(ledger->free_tx() == 1);
    // The driver gives back only what it holds, once.
    CHECK(ledger->tx_done(b.value()) == Error::CORRUPT);
    CHECK(ledger->tx_done(a.value()) == Error::OK);
    CHECK(ledger->tx_done(a.value()) == Error::CORRUPT);
    CHECK(ledger->tx_done(7) == Error::CORRUPT);
    CHECK(ledger->free_tx() == 2);
}

// A driver's ledger sees frame_sent and tx_done but never takes buffers itself: its free
// list must stay bounded however many frames go out (the e1000 driver wrote past the list
// after 448 frames when each tx_done added a buffer once more).
TEST_CASE("a driver's ledger stays bounded over many transmitted frames") {
    auto ledger = make_ledger(4, 8);
    for (uint32_t round = 0; round < 10000; ++round) {
        uint16_t index = uint16_t(round % 8);
        REQUIRE(ledger->frame_sent({index, 60}) == Error::OK);
        REQUIRE(ledger->free_tx() == 7);
        REQUIRE(ledger->tx_done(index) == Error::OK);
        REQUIRE(ledger->free_tx() == 8);
    }
    // The server's way still works on the same ledger: each buffer is taken once.
    bool seen[8] = {};
    for (int i = 0; i < 8; ++i) {
        auto taken = ledger->take_tx();
        REQUIRE(taken.ok());
        REQUIRE(taken.value() < 8);
        CHECK_FALSE(seen[taken.value()]);
        seen[taken.value()] = true;
    }
    CHECK(ledger->take_tx().error() == Error::NO_SPACE);
}

TEST_CASE("a driver's ledger passes any number of transmit buffers back") {
    // The driver's side never takes transmit buffers, so handing them back must not
    // accumulate anything: far more frames than buffers go through it.
    auto driver = make_ledger(4, 8);
    for (uint32_t frame = 0; frame < 100000; ++frame) {
        uint16_t index = uint16_t(frame % 8);
        REQUIRE(driver->frame_sent({index, 60}) == Error::OK);
        REQUIRE(driver->tx_released(index) == Error::OK);
    }
    CHECK(driver->tx_released(3) == Error::CORRUPT); // the server holds it now
    CHECK(driver->tx_released(8) == Error::CORRUPT); // out of range
    CHECK(driver->free_tx() <= 8);                   // what reset() listed, no more
}

TEST_CASE("the descriptor queue keeps order and its bound") {
    auto queue = std::make_unique<nic::DescriptorQueue>();
    for (uint16_t i = 0; i < nic::kMaxBuffersPerDirection; ++i)
        REQUIRE(queue->push({i, uint16_t(60 + i)}));
    CHECK_FALSE(queue->push({0, 60}));
    Descriptor out[5];
    CHECK(queue->peek(out) == 5);
    CHECK(out[4].index == 4);
    queue->drop(5);
    CHECK(queue->size() == nic::kMaxBuffersPerDirection - 5);
    CHECK(queue->peek(out) == 5);
    CHECK(out[0].index == 5);
    CHECK(queue->push({600, 60})); // wraps around
    queue->drop(1000);
    CHECK(queue->empty());
    CHECK(queue->peek(out) == 0);
}

// A driver and a server exchanging frames through Sync messages in both directions, each
// side checking the other with its own ledger, with random batch sizes and a driver that
// sometimes lies. Every frame sent must arrive once, in order, and every buffer must end
// up back with its first owner.
TEST_CASE("a random exchange keeps every buffer with exactly one owner") {
    constexpr uint32_t kRx = 16, kTx = 16;
    auto server = make_ledger(kRx, kTx);
    auto driver = make_ledger(kRx, kTx);
    std::mt19937 rng(12345);
    std::deque<uint16_t> driver_rx_free; // receive buffers the driver may fill
    for (uint16_t i = 0; i < kRx; ++i)
        driver_rx_free.push_back(i);
    std::deque<Descriptor> server_tx_queue; // frames the server wants sent
    std::deque<uint16_t> driver_tx_held;    // transmit buffers the driver is sending
    std::deque<uint16_t> server_rx_return;  // receive buffers to give back
    uint32_t frames_in = 0, frames_out = 0, tx_made = 0, lies = 0, refused = 0;
    uint16_t next_length = 60;

    for (int round = 0; round < 20000; ++round) {
        // The server sends a few frames.
        for (int n = int(rng() % 3); n > 0; --n) {
            auto t = server->take_tx();
            if (!t.ok())
                break;
            Descriptor d{t.value(), uint16_t(60 + tx_made % 1400)};
            REQUIRE(server->frame_sent(d) == Error::OK);
            server_tx_queue.push_back(d);
            ++tx_made;
        }
        // The driver builds a Sync: received frames and finished transmissions.
        std::vector<Descriptor> rx;
        for (int n = int(rng() % 5); n > 0 && !driver_rx_free.empty(); --n) {
            uint16_t i = driver_rx_free.front();
            driver_rx_free.pop_front();
            Descriptor d{i, next_length};
            next_length = uint16_t(next_length % 1500 + 14);
            REQUIRE(driver->frame_received(d) == Error::OK); // the driver's view: given away
            rx.push_back(d);
        }
        if (rng() % 50 == 0) {
            // A lie the server must catch: a buffer out of range, one the server holds,
            // or a runt frame in a buffer the driver does hold.
            switch (rng() % 3) {
            case 0:
                rx.push_back({uint16_t(kRx + rng() % 40), 60});
                break;
            case 1: // the same buffer twice in one request
                rx.push_back({rx.empty() ? uint16_t(kRx) : rx.front().index, 60});
                break;
            default:
                rx.push_back({driver_rx_free.empty() ? uint16_t(kRx) : driver_rx_free.back(),
                              uint16_t(nic::kMinFrame - 1)});
                break;
            }
            ++lies;
        }
        std::vector<uint16_t> done;
        for (int n = int(rng() % 4); n > 0 && !driver_tx_held.empty(); --n) {
            done.push_back(driver_tx_held.front());
            driver_tx_held.pop_front();
        }
        SyncRequest req;
        nic::Packed packed =
            nic::encode_sync(req, 1, {rx.data(), rx.size()}, {done.data(), done.size()});
        REQUIRE(packed.first == rx.size());
        REQUIRE(packed.second == done.size());
        REQUIRE(nic::check_sync(req) == Error::OK);

        // The server takes it.
        for (uint32_t i = req.rx_count; i < uint32_t(req.rx_count) + req.tx_done_count; ++i)
            REQUIRE(server->tx_done(nic::unpack(req.entries[i]).index) == Error::OK);
        // Every frame of the request is taken before any buffer goes back, so a buffer
        // named twice in one request is caught.
        std::vector<uint16_t> taken;
        for (uint32_t i = 0; i < req.rx_count; ++i) {
            Descriptor d = nic::unpack(req.entries[i]);
            if (server->frame_received(d) != Error::OK) {
                ++refused;
                continue;
            }
            ++frames_in;
            taken.push_back(d.index);
        }
        for (uint16_t index : taken) {
            REQUIRE(server->rx_returned(index) == Error::OK);
            server_rx_return.push_back(index);
        }
        // ... and answers with buffers back and frames to send.
        std::vector<uint16_t> back(server_rx_return.begin(), server_rx_return.end());
        std::vector<Descriptor> out(server_tx_queue.begin(), server_tx_queue.end());
        SyncResponse resp;
        packed = nic::encode_sync(resp, {back.data(), back.size()}, {out.data(), out.size()});
        for (uint32_t i = 0; i < packed.first; ++i)
            server_rx_return.pop_front();
        for (uint32_t i = 0; i < packed.second; ++i)
            server_tx_queue.pop_front();
        REQUIRE(nic::check_sync(resp) == Error::OK);

        // The driver takes the answer, checking it with its own ledger.
        for (uint32_t i = 0; i < resp.rx_free_count; ++i) {
            uint16_t index = nic::unpack(resp.entries[i]).index;
            REQUIRE(driver->rx_returned(index) == Error::OK);
            driver_rx_free.push_back(index);
        }
        for (uint32_t i = resp.rx_free_count; i < uint32_t(resp.rx_free_count) + resp.tx_count;
             ++i) {
            Descriptor d = nic::unpack(resp.entries[i]);
            auto t = driver->take_tx(); // mirror the server's hand-over in the driver's view
            REQUIRE(t.ok());
            driver->untake_tx(t.value());
            REQUIRE(d.length >= 60);
            driver_tx_held.push_back(d.index);
            ++frames_out;
        }
    }
    CHECK(refused == lies);
    CHECK(frames_in > 10000);
    CHECK(frames_out > 5000);
    // Every receive buffer is accounted for exactly once.
    std::set<uint16_t> seen(driver_rx_free.begin(), driver_rx_free.end());
    seen.insert(server_rx_return.begin(), server_rx_return.end());
    CHECK(driver_rx_free.size() + server_rx_return.size() == kRx);
    CHECK(seen.size() == kRx);
    // Transmit buffers: free at the server, queued, or with the driver.
    CHECK(server->free_tx() + server_tx_queue.size() + driver_tx_held.size() == kTx);
}
