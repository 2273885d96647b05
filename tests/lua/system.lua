-- The os library: time (now, and tables both ways), date formats in UTC, difftime,
-- clock advancing with work, getenv, tmpname, remove and rename, and exit codes are left
-- to the driver.
local now = os.time()
print(math.type(now), now > 1700000000)
print(os.date("!%Y-%m-%d %H:%M:%S", 0))
print(os.date("!%Y-%m-%d %H:%M:%S %A %B %j", 1700000000))
print(os.date("!%c", 86400 * 365))
local t = os.date("!*t", 1234567890)
print(t.year, t.month, t.day, t.hour, t.min, t.sec, t.wday, t.yday, t.isdst)
local here = os.date("*t", now)
print(os.time(here) == now, type(here.isdst))
print(os.time({ year = 2024, month = 3, day = 1, hour = 12 })
      - os.time({ year = 2024, month = 2, day = 28, hour = 12 }))
local norm = os.date("*t", os.time({ year = 2023, month = 12, day = 32, hour = 12 }))
print(norm.year, norm.month, norm.day)
print(os.difftime(now + 90, now), os.difftime(now, now + 1))
print(#os.date(), os.date("%Y") == os.date("*t").year .. "")

local c0 = os.clock()
local x = 0
for i = 1, 3000000 do x = x + i % 3 end
local c1 = os.clock()
print(math.type(c0), c0 >= 0, c1 > c0, x)

print(type(os.getenv("PATH")), os.getenv("TERN_NO_SUCH_VARIABLE"))

local a, b = os.tmpname(), os.tmpname()
print(a ~= b, a:match("^/tmp/") ~= nil)
local f = assert(io.open(a, "w"))
f:write("moved")
f:close()
print(os.rename(a, b))
print(io.open(b):read("a"))
print(os.remove(b), os.remove(a) == nil)
local _, err, code = os.remove(b)
print(err == b .. ": No such file or directory", code)
print(select(2, os.rename(a, b)) == a .. ": No such file or directory")
