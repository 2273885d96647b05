-- Coroutines: resume/yield with values both ways, status, wrap as a generator, errors
-- inside a coroutine, isyieldable, running, and close.
local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got", d, e)
  return "done", d + e
end)
print(coroutine.status(co))
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4))
print(coroutine.status(co))
print(coroutine.resume(co))

local function range(n, step)
  return coroutine.wrap(function()
    for i = 1, n, step do coroutine.yield(i) end
  end)
end
local got = {}
for i in range(20, 3) do got[#got + 1] = i end
print(table.concat(got, " "))

-- A producer/consumer pipeline of three coroutines.
local function producer()
  return coroutine.wrap(function()
    for _, w in ipairs({ "alpha", "beta", "gamma", "delta" }) do coroutine.yield(w) end
  end)
end
local function filter(source)
  return coroutine.wrap(function()
    for w in source do
      if #w > 4 then coroutine.yield(w:upper()) end
    end
  end)
end
local out = {}
for w in filter(producer()) do out[#out + 1] = w end
print(table.concat(out, ","))

local bad = coroutine.create(function() error("inside") end)
local ok, err = coroutine.resume(bad)
print(ok, (err:gsub("^.-:%d+: ", "")), coroutine.status(bad))
print(coroutine.resume(bad))

print(coroutine.isyieldable(), coroutine.running() ~= nil, select(2, coroutine.running()))
coroutine.wrap(function()
  print(coroutine.isyieldable(), select(2, coroutine.running()))
end)()

local closable = coroutine.create(function() coroutine.yield(1) end)
coroutine.resume(closable)
print(coroutine.status(closable), coroutine.close(closable), coroutine.status(closable))

-- Many coroutines alive at once.
local cos = {}
for i = 1, 200 do
  cos[i] = coroutine.create(function(x) while true do x = coroutine.yield(x + i) end end)
end
local total = 0
for round = 1, 5 do
  for i = 1, #cos do
    local _, v = coroutine.resume(cos[i], round)
    total = total + v
  end
end
print(total)
