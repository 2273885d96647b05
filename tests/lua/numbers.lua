-- Integers and floats: subtypes, integer and float division, modulo, overflow wrapping,
-- bitwise operators, conversions, the math library, and a seeded random sequence.
print(math.type(1), math.type(1.0), math.type("1"), 1 == 1.0, 3 / 2, 4 / 2)
print(7 // 2, 7.0 // 2, -7 // 2, 7 % 3, -7 % 3, 7 % -3, 5.5 % 2)
print(2 ^ 10, 2 ^ 0.5, 10 // 0.0, -10 // 0.0, 1e308 * 10)
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger)
print(math.maxinteger * 2, math.mininteger // -1)
print(0xff, 0x7fffffffffffffff, 0xffffffffffffffff, 1e2, .5, 3e-2)
print(5 & 3, 5 | 3, 5 ~ 3, ~0, 1 << 62, 1 << 63, 1 << 64, -1 >> 60, 2.0 | 1)
print(math.tointeger(3.0), math.tointeger(3.5), math.tointeger("8"), 3 | 0)
print(10 == "10", "10" + 1, "3.0" + 1, "0x10" * 2, 10 .. 20)
print(math.floor(-3.5), math.ceil(-3.5), math.floor(3.7), math.ceil(3.2), math.abs(-4))
print(math.fmod(7, 3), math.fmod(-7, 3), math.fmod(7, -3), math.fmod(7.5, 2))
print(math.sqrt(2), math.sqrt(144), math.exp(0), math.log(1), math.log(8, 2), math.log(100, 10))
print(math.sin(0), math.cos(0), string.format("%.6f %.6f", math.sin(math.pi / 6), math.atan(1, 1)))
print(math.pi, -math.pi, math.huge, -math.huge, math.huge > math.maxinteger)
local nan = 0 / 0
print(nan ~= nan, nan == nan, math.min(3, 1, 2), math.max(3, 1, 2), math.min(1.5, 2))
print(math.ult(1, -1), math.ult(-1, 1), math.abs(math.mininteger))
print(string.format("%d %s %s", 3, 2 ^ 63, math.tointeger(2 ^ 53)))
print(1 / 3, 100 / 3, 1e15, 1e16, 123456789012, 2 ^ 53, -0.0)
print(tostring(1e100), 12.5 // 1, math.floor(12.5), 255 // 16, string.format("%5.1f", 99.95))
print(8 // 3 * 3 + 8 % 3, -8 // 3 * 3 + -8 % 3)

math.randomseed(42)
local r = {}
for i = 1, 5 do r[i] = math.random(1, 1000) end
print(table.concat(r, " "))
math.randomseed(42)
local again = {}
for i = 1, 5 do again[i] = math.random(1, 1000) end
print(table.concat(again, " ") == table.concat(r, " "))
local f = math.random()
print(f >= 0 and f < 1, math.random(7) <= 7)
local ok, err = pcall(math.random, 2, 1)
print(ok, (err:gsub("^.-: ", "")))

local acc = 0
for i = 1, 100000 do acc = acc + i * i % 7 end
print(acc)
local fsum = 0.0
for i = 1, 1000 do fsum = fsum + 1 / i end
print(string.format("%.12f", fsum))
