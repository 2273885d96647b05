-- Tables: constructors, length, insert/remove/move, sort (with and without a comparator),
-- concat, unpack, next/pairs order on arrays, and nested tables.
local t = { 5, 3, 8, 1, 9, 2 }
print(#t, table.concat(t, " "))
table.sort(t)
print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " "))
table.insert(t, 7)
table.insert(t, 1, 0)
print(#t, table.concat(t, ","))
print(table.remove(t), table.remove(t, 1), #t)
print(table.concat(t, ",", 2, 4))
local moved = table.move({ 1, 2, 3 }, 1, 3, 2, { "a" })
print(table.concat(moved, ","))
print(table.unpack({ 10, 20, 30 }))
print(select("#", table.unpack({ 1, nil, 3 }, 1, 3)), select(2, "a", "b", "c"))
local packed = table.pack(1, nil, 3)
print(packed.n, packed[1], packed[2], packed[3])

local people = {
  { name = "ada", age = 36 }, { name = "alan", age = 41 }, { name = "grace", age = 85 },
  { name = "edsger", age = 72 }, { name = "barbara", age = 41 },
}
table.sort(people, function(a, b)
  if a.age ~= b.age then return a.age < b.age end
  return a.name < b.name
end)
local order = {}
for i, p in ipairs(people) do order[i] = p.name .. "=" .. p.age end
print(table.concat(order, " "))

local words = {}
for w in ("pear apple fig banana cherry date"):gmatch("%a+") do words[#words + 1] = w end
table.sort(words)
print(table.concat(words, " "))
table.sort(words, function(a, b) return #a < #b or (#a == #b and a < b) end)
print(table.concat(words, " "))

-- A larger sort: 1000 pseudo-random numbers from a fixed linear congruential sequence.
local big, x = {}, 12345
for i = 1, 1000 do
  x = (x * 1103515245 + 12345) % 2147483648
  big[i] = x % 10000
end
table.sort(big)
local sorted = true
for i = 2, #big do if big[i - 1] > big[i] then sorted = false end end
local sum = 0
for _, v in ipairs(big) do sum = sum + v end
print(sorted, #big, big[1], big[500], big[1000], sum)

local counts = {}
for _, w in ipairs({ "a", "b", "a", "c", "b", "a" }) do counts[w] = (counts[w] or 0) + 1 end
local keys = {}
for k in pairs(counts) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do print(k, counts[k]) end

local grid = {}
for r = 1, 3 do
  grid[r] = {}
  for c = 1, 3 do grid[r][c] = r * c end
end
print(grid[2][3], grid[3][3], #grid, #grid[1])
local holes = { 1, 2, nil, 4, n = 4 }
print(holes.n, holes[4], rawlen({ 1, 2, 3 }), rawequal(t, t), rawget(counts, "a"))
print(next({}), type(next({ 9 })))
local ok, err = pcall(table.concat, { 1, {}, 3 })
print(ok, (err:gsub("^.-: ", "")))
