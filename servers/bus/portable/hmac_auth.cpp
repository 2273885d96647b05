#include "hmac_auth.h"

#include <sodium/crypto_verify_16.h>
#include <sodium/utils.h>
#include <string.h>

namespace tern::bus {

HmacAuth::HmacAuth(base::Span<const uint8_t> key) {
    crypto_auth_hmacsha256_init(&m_keyed, key.data(), key.size());
}

HmacAuth::~HmacAuth() { sodium_memzero(&m_keyed, sizeof(m_keyed)); }

void HmacAuth::mac(base::Span<const uint8_t> data, uint8_t out[crypto_auth_hmacsha256_BYTES]) {
    crypto_auth_hmacsha256_state state;
    memcpy(&state, &m_keyed, sizeof(state));
    crypto_auth_hmacsha256_update(&state, data.data(), data.size());
    crypto_auth_hmacsha256_final(&state, out);
}

void HmacAuth::sign(base::Span<const uint8_t> data, uint8_t tag[kTagSize]) {
    uint8_t full[crypto_auth_hmacsha256_BYTES];
    mac(data, full);
    memcpy(tag, full, kTagSize);
}

bool HmacAuth::verify(base::Span<const uint8_t> data, base::Span<const uint8_t> tag) {
    if (tag.size() != kTagSize)
        return false;
    uint8_t full[crypto_auth_hmacsha256_BYTES];
    mac(data, full);
    return crypto_verify_16(full, tag.data()) == 0;
}

} // namespace tern::bus
