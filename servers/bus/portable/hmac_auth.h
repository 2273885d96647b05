#pragma once
// The bus's frame authentication: HMAC-SHA-256 under the cluster key, from libsodium,
// truncated to the frame's 16-byte tag (truncation to at least half the hash length is
// what RFC 2104 section 5 allows). The network server links libsodium built for the image
// (cmake/sodium.cmake); host tests and the simulation link the machine's libsodium.
#include <sodium/crypto_auth_hmacsha256.h>

#include "transport.h"

namespace tern::bus {

class HmacAuth final : public FrameAuth {
public:
    // Keys of 16..64 bytes; the bytes are not kept, only HMAC's keyed starting state.
    static constexpr size_t kMinKey = 16;
    static constexpr size_t kMaxKey = 64;
    explicit HmacAuth(base::Span<const uint8_t> key);
    ~HmacAuth() override;

    void sign(base::Span<const uint8_t> data, uint8_t tag[kTagSize]) override;
    // Constant time in the tag's contents: a forger learns nothing from how long a refusal
    // took.
    bool verify(base::Span<const uint8_t> data, base::Span<const uint8_t> tag) override;

private:
    void mac(base::Span<const uint8_t> data, uint8_t out[crypto_auth_hmacsha256_BYTES]);

    // The state after absorbing the key: each frame starts from a copy, so the key's two
    // hash blocks are paid once, not per frame.
    crypto_auth_hmacsha256_state m_keyed;
};

} // namespace tern::bus
