-- Closures and metatables: counters sharing upvalues, varargs, recursion, metamethods
-- (__index, __newindex, __call, __add, __eq, __lt, __le, __concat, __len, __tostring,
-- __close), inheritance through __index, and weak tables with the collector.
local function counter(start)
  local n = start
  return function() n = n + 1; return n end, function() return n end
end
local inc, get = counter(10)
inc(); inc()
local inc2 = counter(0)
print(get(), inc(), inc2(), get())

local adders = {}
for i = 1, 3 do adders[i] = function(x) return x + i end end
print(adders[1](10), adders[2](10), adders[3](10))

local function sum(...)
  local s = 0
  for _, v in ipairs({ ... }) do s = s + v end
  return s, select("#", ...)
end
print(sum(1, 2, 3, 4))
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(20))
local function compose(f, g) return function(...) return f(g(...)) end end
print(compose(string.upper, string.reverse)("abc"))

local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({ x = x, y = y }, Vec) end
function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
function Vec.__eq(a, b) return a.x == b.x and a.y == b.y end
function Vec.__lt(a, b) return a:len2() < b:len2() end
function Vec.__le(a, b) return a:len2() <= b:len2() end
function Vec.__tostring(v) return "(" .. v.x .. "," .. v.y .. ")" end
function Vec.__concat(a, b) return tostring(a) .. tostring(b) end
function Vec.__len(v) return 2 end
function Vec.__unm(v) return Vec.new(-v.x, -v.y) end
function Vec:len2() return self.x * self.x + self.y * self.y end
local a, b = Vec.new(1, 2), Vec.new(3, 4)
print(tostring(a + b), a == Vec.new(1, 2), a ~= b, a < b, b <= a, #a, a .. b, tostring(-a))

local Animal = {}
Animal.__index = Animal
function Animal.new(name) return setmetatable({ name = name }, Animal) end
function Animal:speak() return self.name .. " makes a sound" end
local Dog = setmetatable({}, { __index = Animal })
Dog.__index = Dog
function Dog.new(name) return setmetatable(Animal.new(name), Dog) end
function Dog:speak() return self.name .. " barks; " .. Animal.speak(self) end
print(Dog.new("rex"):speak(), getmetatable(Dog.new("x")) == Dog)

local log = {}
local proxy = setmetatable({}, {
  __index = function(_, k) log[#log + 1] = "get " .. k; return k .. "!" end,
  __newindex = function(t, k, v) log[#log + 1] = "set " .. k; rawset(t, k, v * 2) end,
  __call = function(self, x) return "called with " .. x end,
})
proxy.a = 21
print(proxy.a, proxy.b, proxy(5), table.concat(log, ","))

local defaults = setmetatable({}, { __index = function() return 0 end })
defaults.x = defaults.x + 5
print(defaults.x, defaults.y)

do
  local order = {}
  do
    local r1 <close> = setmetatable({}, { __close = function() order[#order + 1] = "r1" end })
    local r2 <close> = setmetatable({}, { __close = function() order[#order + 1] = "r2" end })
    order[#order + 1] = "body"
  end
  print(table.concat(order, " "))
  local c <const> = 42
  print(c)
end

local weak = setmetatable({}, { __mode = "k" })
do
  local key = {}
  weak[key] = "value"
  weak[{}] = "garbage"
  collectgarbage()
  collectgarbage()
  local n = 0
  for _ in pairs(weak) do n = n + 1 end
  print(n, weak[key])
end
print(type(collectgarbage("count")), collectgarbage("isrunning"))
