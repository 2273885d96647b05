// Host tests for the shell's command-line splitter: blanks, each kind of quoting, comments,
// $?, the errors with their messages, the storage limits, and random lines.

#include <catch2/catch.hpp>

#include <programs/shell/portable/command_line.h>

#include <climits>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using shell::kMaxArgBytes;
using shell::kMaxArgs;
using shell::ParsedCommand;

namespace {

struct Parsed {
    bool ok = false;
    base::Error error = base::Error::OK;
    std::vector<std::string> words;
    std::string message;
    size_t offset = 0;
};

// Checks what must hold after every parse: argv is null-terminated, each word is a C
// string that agrees with arg(), and the words fit the storage.
void check_shape(const ParsedCommand& command, bool ok) {
    REQUIRE(command.argc() <= kMaxArgs);
    REQUIRE(command.argv()[command.argc()] == nullptr);
    size_t bytes = 0;
    for (size_t i = 0; i < command.argc(); ++i) {
        const char* word = command.argv()[i];
        REQUIRE(word != nullptr);
        base::StringView view = command.arg(i);
        REQUIRE(view.data() == word);
        REQUIRE(std::strlen(word) == view.length());
        bytes += view.length() + 1;
    }
    REQUIRE(bytes <= kMaxArgBytes);
    if (ok) {
        REQUIRE(std::string(command.error_message()).empty());
    } else {
        REQUIRE(command.argc() == 0);
        REQUIRE_FALSE(std::string(command.error_message()).empty());
    }
}

Parsed parse(const std::string& line, int status = 0) {
    ParsedCommand command;
    base::Result<void> result =
        shell::parse_command_line(base::StringView(line.data(), line.size()), command, status);
    Parsed p;
    p.ok = result.ok();
    if (!p.ok)
        p.error = result.error();
    check_shape(command, p.ok);
    for (size_t i = 0; i < command.argc(); ++i)
        p.words.emplace_back(command.arg(i).data(), command.arg(i).length());
    p.message = command.error_message();
    p.offset = command.error_offset();
    return p;
}

using Words = std::vector<std::string>;

Words words(const std::string& line, int status = 0) {
    Parsed p = parse(line, status);
    INFO(line);
    REQUIRE(p.ok);
    return p.words;
}

} // namespace

TEST_CASE("command line: blanks separate words", "[shell]") {
    CHECK(words("ls") == Words{"ls"});
    CHECK(words("ls -l /bin") == Words{"ls", "-l", "/bin"});
    CHECK(words("  ls \t  -l\t/bin   ") == Words{"ls", "-l", "/bin"});
    CHECK(words("a\nb\rc\vd\fe") == Words{"a", "b", "c", "d", "e"});
}

TEST_CASE("command line: empty, blank and comment lines give no words", "[shell]") {
    for (const char* line : {"", " ", "\t  \t", "#", "# a comment", "   # indented 'comment",
                             "#\"unterminated", "# trailing \\"}) {
        INFO(line);
        Parsed p = parse(line);
        CHECK(p.ok);
        CHECK(p.words.empty());
    }
    ParsedCommand command;
    REQUIRE(shell::parse_command_line("", command, 0).ok());
    CHECK(command.argc() == 0);
    CHECK(command.argv()[0] == nullptr);
}

TEST_CASE("command line: # starts a comment only at the start of a word", "[shell]") {
    CHECK(words("ls -l # long listing") == Words{"ls", "-l"});
    CHECK(words("ls -l #'unterminated") == Words{"ls", "-l"});
    CHECK(words("echo a#b") == Words{"echo", "a#b"});
    CHECK(words("echo a# b") == Words{"echo", "a#", "b"});
    CHECK(words("echo '#' \"#\" \\#") == Words{"echo", "#", "#", "#"});
    CHECK(words("echo ''#") == Words{"echo", "#"});
    CHECK(words("echo $?#", 3) == Words{"echo", "3#"});
}

TEST_CASE("command line: single quotes are literal", "[shell]") {
    CHECK(words("echo 'a  b'") == Words{"echo", "a  b"});
    CHECK(words("'\\' '\"' '$?' '\\n'", 5) == Words{"\\", "\"", "$?", "\\n"});
    CHECK(words("a'b'c 'x'y") == Words{"abc", "xy"});
    CHECK(words("'' x ''") == Words{"", "x", ""});
    CHECK(words("''''") == Words{""});
    CHECK(words("'tab\there'") == Words{"tab\there"});
}

TEST_CASE("command line: double quotes", "[shell]") {
    CHECK(words("echo \"a  b\"") == Words{"echo", "a  b"});
    CHECK(words(R"("a\"b" "c\\d" "e\$f")") == Words{"a\"b", "c\\d", "e$f"});
    // Any other backslash stays as it is.
    CHECK(words(R"("\n\a\'\ x")") == Words{R"(\n\a\'\ x)"});
    CHECK(words(R"("it's")") == Words{"it's"});
    CHECK(words(R"("$?" "[$?]" "\$?")", 42) == Words{"42", "[42]", "$?"});
    CHECK(words(R"("" x "")") == Words{"", "x", ""});
    CHECK(words(R"(a"b"c"d e"'f')") == Words{"abcd ef"});
    CHECK(words(R"("#not a comment")") == Words{"#not a comment"});
    CHECK(words(R"("\\")") == Words{"\\"});
}

TEST_CASE("command line: backslashes outside quotes", "[shell]") {
    CHECK(words(R"(a\ b)") == Words{"a b"});
    CHECK(words(R"(\'x\' \"y\")") == Words{"'x'", "\"y\""});
    CHECK(words(R"(\\ \$? \a)", 7) == Words{"\\", "$?", "a"});
    CHECK(words("a\\\tb") == Words{"a\tb"});
    CHECK(words(R"(\#)") == Words{"#"});
}

TEST_CASE("command line: $? is the last status", "[shell]") {
    CHECK(words("echo $?", 0) == Words{"echo", "0"});
    CHECK(words("echo $?", 127) == Words{"echo", "127"});
    CHECK(words("echo $?", -1) == Words{"echo", "-1"});
    CHECK(words("echo $?", INT_MAX) == Words{"echo", "2147483647"});
    CHECK(words("echo $?", INT_MIN) == Words{"echo", "-2147483648"});
    CHECK(words("x$?y$?", 12) == Words{"x12y12"});
    // Any other $ is literal.
    CHECK(words("$ $x $$? a$ $\"?\"", 9) == Words{"$", "$x", "$9", "a$", "$?"});
    CHECK(words("'$?'\"$?\"$?", 1) == Words{"$?11"});
}

TEST_CASE("command line: errors and their messages", "[shell]") {
    struct Case {
        const char* line;
        const char* message;
        size_t offset;
    };
    for (const Case& c : {
             Case{"echo 'abc", "unterminated single quote", 5},
             Case{"'", "unterminated single quote", 0},
             Case{"echo \"abc", "unterminated double quote", 5},
             Case{"a \"b\\\"", "unterminated double quote", 2},
             Case{"a \"b\\", "unterminated double quote", 2},
             Case{"\"", "unterminated double quote", 0},
             Case{"echo abc\\", "trailing backslash", 8},
             Case{"\\", "trailing backslash", 0},
             Case{"'a'\"b\"c 'd", "unterminated single quote", 8},
         }) {
        INFO(c.line);
        Parsed p = parse(c.line);
        CHECK_FALSE(p.ok);
        CHECK(p.error == base::Error::INVALID_ARGUMENT);
        CHECK(p.message == c.message);
        CHECK(p.offset == c.offset);
    }

    for (const std::string& line : {std::string("a\0b", 3), std::string("'a\0'", 4),
                                    std::string("\"a\0\"", 4), std::string("\\\0", 2)}) {
        Parsed p = parse(line);
        CHECK_FALSE(p.ok);
        CHECK(p.error == base::Error::INVALID_ARGUMENT);
        CHECK(p.message == "NUL byte in the command line");
    }

    // A failed parse leaves no words from an earlier one behind, and a good parse after it
    // clears the message.
    ParsedCommand command;
    REQUIRE(shell::parse_command_line("one two", command, 0).ok());
    REQUIRE(command.argc() == 2);
    base::Result<void> result = shell::parse_command_line("one 'two", command, 0);
    REQUIRE(result.is_error());
    CHECK(command.argc() == 0);
    CHECK(command.argv()[0] == nullptr);
    REQUIRE(shell::parse_command_line("three", command, 0).ok());
    CHECK(command.argc() == 1);
    CHECK(std::string(command.argv()[0]) == "three");
    CHECK(std::string(command.error_message()).empty());
}

TEST_CASE("command line: at most 256 words", "[shell]") {
    static_assert(kMaxArgs == 256);
    std::string line;
    Words expected;
    for (size_t i = 0; i < kMaxArgs; ++i) {
        line += "w" + std::to_string(i) + " ";
        expected.push_back("w" + std::to_string(i));
    }
    CHECK(words(line) == expected);
    // Blanks and a comment after the last word are fine.
    CHECK(words(line + "   # w256") == expected);

    size_t offset = line.size();
    Parsed p = parse(line + "w256");
    CHECK_FALSE(p.ok);
    CHECK(p.error == base::Error::TOO_BIG);
    CHECK(p.message == "too many words (at most 256)");
    CHECK(p.offset == offset);
    CHECK(parse(line + "''").error == base::Error::TOO_BIG);
}

TEST_CASE("command line: at most 2048 bytes of words", "[shell]") {
    // One word of 2047 bytes and its NUL fill the storage exactly.
    CHECK(words(std::string(kMaxArgBytes - 1, 'a'))[0].size() == kMaxArgBytes - 1);
    Parsed p = parse("x " + std::string(kMaxArgBytes - 2, 'a'));
    CHECK_FALSE(p.ok);
    CHECK(p.error == base::Error::TOO_BIG);
    CHECK(p.message == "words too long (at most 2048 bytes in all)");
    CHECK(p.offset == 2);
    CHECK(parse(std::string(kMaxArgBytes, 'a')).error == base::Error::TOO_BIG);

    // 256 words of 7 bytes, each with its NUL, are exactly 2048 bytes.
    std::string line;
    for (size_t i = 0; i < kMaxArgs; ++i)
        line +=
            "'" + std::string(kMaxArgBytes / kMaxArgs - 1, static_cast<char>('A' + i % 26)) + "' ";
    Words all = words(line);
    REQUIRE(all.size() == kMaxArgs);
    CHECK(all.back() == std::string(7, 'A' + (kMaxArgs - 1) % 26));
    // One more byte anywhere does not fit.
    CHECK(parse("x" + line).error == base::Error::TOO_BIG);
    // Blanks and quotes cost nothing; an empty word costs its NUL.
    std::string padded = std::string(3000, ' ') + std::string(2000, 'b') + "''''''" + "   ";
    CHECK(words(padded)[0].size() == 2000);
    CHECK(parse(std::string(kMaxArgBytes - 2, 'a') + " ''").ok);
    CHECK(parse(std::string(kMaxArgBytes - 2, 'a') + " '' ''").error == base::Error::TOO_BIG);

    // $? counts with its expanded length.
    std::string near_full(kMaxArgBytes - 3, 'a');
    CHECK(words(near_full + "$?", 7)[0].size() == kMaxArgBytes - 2);
    CHECK(words(near_full + "$?", 42)[0].size() == kMaxArgBytes - 1);
    CHECK(parse(near_full + "$?", 420).error == base::Error::TOO_BIG);
    CHECK(parse(near_full + "\"$?\"", -42).error == base::Error::TOO_BIG);
}

TEST_CASE("command line: argv points into the storage, ready for spawn", "[shell]") {
    ParsedCommand command;
    REQUIRE(shell::parse_command_line("/bin/echo 'hello world' \"\" end", command, 0).ok());
    REQUIRE(command.argc() == 4);
    const char* const* argv = command.argv();
    CHECK(std::string(argv[0]) == "/bin/echo");
    CHECK(std::string(argv[1]) == "hello world");
    CHECK(std::string(argv[2]).empty());
    CHECK(std::string(argv[3]) == "end");
    CHECK(argv[4] == nullptr);
    // The words lie one after another, each after the previous one's NUL.
    for (size_t i = 1; i < command.argc(); ++i)
        CHECK(argv[i] == argv[i - 1] + std::strlen(argv[i - 1]) + 1);
}

TEST_CASE("command line: quoted words come back unchanged", "[shell][random]") {
    std::mt19937 random(0x5e11);
    const std::string alphabet = "ab $?#'\"\\\t;|&*~";
    ParsedCommand command;
    for (int round = 0; round < 20000; ++round) {
        // Any word survives single quotes, with ' written as '\''.
        Words original(random() % 6);
        std::string line = random() % 2 ? "  " : "";
        size_t bytes = 0;
        for (std::string& word : original) {
            size_t length = random() % 12;
            for (size_t i = 0; i < length; ++i)
                word.push_back(alphabet[random() % alphabet.size()]);
            bytes += word.size() + 1;
            line += "'";
            for (char c : word)
                line += c == '\'' ? std::string("'\\''") : std::string(1, c);
            line += "'" + std::string(1 + random() % 2, ' ');
        }
        INFO(line);
        REQUIRE(bytes <= kMaxArgBytes);
        REQUIRE(shell::parse_command_line(base::StringView(line.data(), line.size()), command,
                                          static_cast<int>(random()))
                    .ok());
        check_shape(command, true);
        REQUIRE(command.argc() == original.size());
        for (size_t i = 0; i < original.size(); ++i)
            REQUIRE(std::string(command.argv()[i]) == original[i]);
    }
}

TEST_CASE("command line: random lines never break the result", "[shell][random]") {
    std::mt19937 random(0xc0de);
    const std::string alphabet = std::string("ab $?#'\"\\\t\n", 11) + std::string(1, '\0');
    size_t ok = 0;
    size_t failed = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string line;
        // Mostly short lines, sometimes long ones that run into the limits.
        size_t length = round % 10 == 0 ? random() % 5000 : random() % 40;
        for (size_t i = 0; i < length; ++i)
            line.push_back(
                alphabet[random() % (round % 3 == 0 ? alphabet.size() : alphabet.size() - 1)]);
        Parsed p = parse(line, static_cast<int>(random()));
        if (p.ok)
            ++ok;
        else
            ++failed;
        if (!p.ok) {
            CHECK((p.error == base::Error::INVALID_ARGUMENT || p.error == base::Error::TOO_BIG));
            CHECK(p.offset < line.size());
        }
    }
    CHECK(ok > 1000);
    CHECK(failed > 1000);
}

TEST_CASE("command line: drop_last removes the final word (the shell's &)", "[shell]") {
    ParsedCommand command;
    REQUIRE(shell::parse_command_line("on 3 sleep 600 &", command, 0).ok());
    REQUIRE(command.argc() == 5);
    command.drop_last();
    check_shape(command, true);
    REQUIRE(command.argc() == 4);
    REQUIRE(command.arg(3) == "600");
    command.drop_last();
    command.drop_last();
    command.drop_last();
    command.drop_last();
    check_shape(command, true);
    REQUIRE(command.argc() == 0);
    command.drop_last(); // nothing left: stays empty
    REQUIRE(command.argc() == 0);
    REQUIRE(command.argv()[0] == nullptr);
}
