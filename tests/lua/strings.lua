-- Strings: string.format, patterns (find, match, gmatch, gsub), and the byte functions.
print(string.format("[%5d|%-5d|%05d]", 42, 42, 42))
print(string.format("[%s|%10s|%-10s|%.2s]", "tern", "tern", "tern", "tern"))
print(string.format("[%.3f|%10.4f|%e|%g|%g]", 2 / 3, math.pi, 12345.678, 1e20, 0.0001))
print(string.format("[%x|%X|%o|%c%c%c]", 255, 48879, 8, 76, 117, 97))
print(string.format("%q", 'quote " and \\ and tab\t'))
print(string.format("%q|%q", 17, 1.5))
print(string.format("%i%%", 99))

local s = "the quick brown fox jumps over the lazy dog"
print(#s, s:upper():sub(1, 9), s:sub(-8), s:sub(5, 9), s:rep(2, "/"):len())
print(s:find("fox"), s:find("o", 15), s:find("cat"), s:find("l.z", 1, true))
print(s:match("(%a+) fox"), s:match("^(%w+)"), s:match("(%a+)$"))
print(string.match("key = value", "(%w+)%s*=%s*(%w+)"))
print(string.match("2026-12-06", "(%d+)-(%d+)-(%d+)"))
print(string.match("  padded  ", "^%s*(.-)%s*$") .. "|")
print(string.find("a+b", "+", 1, true), string.find("abc", "b()"))

local words = {}
for w in s:gmatch("%a+") do words[#words + 1] = w end
print(#words, table.concat(words, ","))
local pairs_found = {}
for k, v in string.gmatch("a=1, b=22, c=333", "(%w+)=(%w+)") do
  pairs_found[#pairs_found + 1] = k .. ":" .. v
end
print(table.concat(pairs_found, " "))

print(s:gsub("o", "0"))
print(s:gsub("(%w+)", "<%1>", 3))
print(string.gsub("hello world", "%w+", string.upper))
print(string.gsub("$name is $age", "%$(%w+)", { name = "lua", age = 31 }))
print(string.gsub("abc", "", "-"))
print(string.gsub("one two  three", "%s+", " "))
print(string.gsub("[balanced (parens) here]", "%b()", "#"))
print(string.gsub("THE (quick) fox", "%f[%a]%a+", function(w) return w:lower() end))

print(string.byte("ABC", 1, -1), string.char(72, 105))
print(("x"):rep(0) == "", ("ab"):reverse(), ("MiXeD"):lower())
print(tostring(12) .. "|" .. tostring(1.25) .. "|" .. tostring(nil) .. "|" .. tostring(true))
print(tonumber("0x1F"), tonumber("  12  "), tonumber("1e3"), tonumber("z", 36), tonumber("abc"))
print(#"\u{48}\u{e9}", utf8.len("h\u{e9}llo"), utf8.char(72, 233, 8364))
local codes = {}
for _, c in utf8.codes("a\u{e9}\u{20ac}") do codes[#codes + 1] = c end
print(table.concat(codes, " "))
print(string.pack("<i4", 0x01020304):byte(1, -1))
print(string.unpack("<i2 >i2", "\1\0\0\1"))
