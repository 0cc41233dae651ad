/* test_ascii.c - core/ascii.h: locale-free case folding and compares. */
#include "core/ascii.h"
#include "test.h"

TEST(fold_only_ascii_letters)
{
	int c;

	for (c = 0; c < 256; c++) {
		int want_lower = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
		int want_upper = (c >= 'a' && c <= 'z') ? c - ('a' - 'A') : c;

		EXPECT_EQ(nr_ascii_lower(c), want_lower);
		EXPECT_EQ(nr_ascii_upper(c), want_upper);
	}
	/* '@' and '[' sit next to the letters: no "| 0x20" tricks */
	EXPECT_EQ(nr_ascii_lower('@'), '@');
	EXPECT_EQ(nr_ascii_lower('['), '[');
	EXPECT_EQ(nr_ascii_upper('`'), '`');
	EXPECT_EQ(nr_ascii_upper('{'), '{');
	EXPECT_EQ(nr_ascii_lower((char)0xc4), (char)0xc4);
}

TEST(classes_are_the_c_locale_ones)
{
	int c;

	for (c = -1; c < 256; c++) {
		int digit = c >= '0' && c <= '9';
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

		EXPECT_EQ(nr_ascii_isdigit(c), digit);
		EXPECT_EQ(nr_ascii_isalpha(c), alpha);
		EXPECT_EQ(nr_ascii_isalnum(c), digit || alpha);
	}
	EXPECT_EQ(nr_ascii_isalpha((char)0xe9), 0); /* a Latin-1 letter is not ASCII */
}

TEST(hex_digits)
{
	EXPECT_EQ(nr_ascii_hex('0'), 0);
	EXPECT_EQ(nr_ascii_hex('9'), 9);
	EXPECT_EQ(nr_ascii_hex('a'), 10);
	EXPECT_EQ(nr_ascii_hex('F'), 15);
	EXPECT_EQ(nr_ascii_hex('g'), -1);
	EXPECT_EQ(nr_ascii_hex('G'), -1);
	EXPECT_EQ(nr_ascii_hex(':'), -1);
	EXPECT_EQ(nr_ascii_hex('@'), -1);
	EXPECT_EQ(nr_ascii_hex('`'), -1);
	EXPECT_EQ(nr_ascii_hex('\0'), -1);
}

TEST(case_insensitive_compares)
{
	EXPECT_EQ(nr_ascii_ieq("Smtp.Example", "smtp.EXAMPLE"), 1);
	EXPECT_EQ(nr_ascii_ieq("", ""), 1);
	EXPECT_EQ(nr_ascii_ieq("abc", "abcd"), 0);
	EXPECT_EQ(nr_ascii_ieq("abcd", "abc"), 0);
	EXPECT_EQ(nr_ascii_ieq("a@", "A`"), 0);

	EXPECT_EQ(nr_ascii_ieq_mem("MAIL FROM", "mail from", 9), 1);
	EXPECT_EQ(nr_ascii_ieq_mem("a\0b", "A\0B", 3), 1); /* NUL is a byte */
	EXPECT_EQ(nr_ascii_ieq_mem("a\0b", "A\0c", 3), 0);
	EXPECT_EQ(nr_ascii_ieq_mem("x", "y", 0), 1);

	EXPECT_EQ(nr_ascii_ieq_word("PIPELINING", 10, "pipelining"), 1);
	EXPECT_EQ(nr_ascii_ieq_word("PIPELININGX", 10, "pipelining"), 1); /* only len bytes */
	EXPECT_EQ(nr_ascii_ieq_word("PIPELININ", 9, "pipelining"), 0);
	EXPECT_EQ(nr_ascii_ieq_word("PIPELININGX", 11, "pipelining"), 0);

	EXPECT_EQ(nr_ascii_iprefix("SIZE=1000", 9, "size="), 1);
	EXPECT_EQ(nr_ascii_iprefix("SIZE", 4, "size="), 0);
	EXPECT_EQ(nr_ascii_iprefix("smtp.GMAIL.com", 14, "smtp."), 1);
	EXPECT_EQ(nr_ascii_iprefix("", 0, ""), 1);
}

int main(void)
{
	RUN(fold_only_ascii_letters);
	RUN(classes_are_the_c_locale_ones);
	RUN(hex_digits);
	RUN(case_insensitive_compares);
	return TEST_REPORT();
}
