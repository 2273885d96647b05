-- Errors: pcall and xpcall with messages, positions and tables as error values, error
-- levels, nested protection, assert, tostring of runtime errors, and errors in
-- metamethods and string conversions.
print(pcall(function() return 1, 2 end))
print(pcall(error, "plain", 0))
local ok, err = pcall(function() error("with position") end)
print(ok, err)
ok, err = pcall(function() error({ code = 7 }) end)
print(ok, type(err), err.code)
ok, err = pcall(function() local t = nil; return t.field end)
print(ok, err)
ok, err = pcall(function() return 1 + {} end)
print(ok, err)
ok, err = pcall(function() return #5 end)
print(ok, err)
ok, err = pcall(function() return ("x"):bad() end)
print(ok, err)
print(pcall(string.rep))
print(pcall(setmetatable, 1, {}))
local function level2() error("from level 2", 2) end
ok, err = pcall(function() level2() end)
print(ok, err)

print(xpcall(function() error("handled") end, function(m) return "handler: " .. m end))
print(xpcall(function(a, b) return a + b end, print, 3, 4))
local trace
xpcall(function() error("deep") end, function(m) trace = debug.traceback(m, 1) end)
print(trace:match("^[^\n]*"), trace:find("stack traceback:", 1, true) ~= nil)

print(pcall(assert, false))
print(pcall(assert, nil, "custom message"))
print(select("#", assert(1, 2, 3)), assert("v", "unused"))

local inner_ok, inner_err
ok, err = pcall(function()
  inner_ok, inner_err = pcall(error, "inner", 0)
  error("outer", 0)
end)
print(ok, err, inner_ok, inner_err)

local guarded = setmetatable({}, { __index = function(_, k) error("no key " .. k, 2) end })
ok, err = pcall(function() return guarded.missing end)
print(ok, err)
print(pcall(tostring, setmetatable({}, { __tostring = function() return 5 end })))
print(pcall(string.format, "%d", 1.5))
print(pcall(load, "return +"))
print(load("return +"))
print(load("syntax error here"))
local fn = load("local a, b = ... ; return a * b")
print(fn(6, 7))
print(pcall(coroutine.wrap(function() error("in coroutine", 0) end)))
print(string.format("%s", select(2, pcall(error))))
