/*
 * tsan_arena.c - lets Criterion run under ThreadSanitizer (linked into every
 * test executable of the -DRSL_TSAN=ON build only; see CMakeLists.txt).
 *
 * Criterion 2.4 (BoxFort) maps its shared arena at a random address between
 * 0x2000'0000'0000 and 0x6000'0000'0000, drawn with rand_r(), and gives up
 * after 10 tries ("Could not initialize inheritable arena", Criterion issue
 * #274). Under TSan almost all of that range is TSan's shadow or protected
 * memory; only 0x5500'0000'0000-0x5680'0000'0000 (PIE programs) is usable.
 * This rand_r, which the executable's definition interposes on the one
 * libcriterion imports from libc, returns offsets that land at the top of
 * that window, above where the kernel places a PIE program. Nothing of ours
 * calls rand_r.
 */
#include <stdlib.h>

int rand_r(unsigned *seed)
{
    /* base = 0x2000'0000'0000 + r * 16 MiB: 0x5670..., 0x5660..., ... */
    static const int picks[] = {0x367000, 0x366000, 0x365000, 0x364000,
                                0x363000, 0x362000, 0x361000, 0x360000};
    unsigned i = (*seed)++;
    return picks[i % (sizeof(picks) / sizeof(picks[0]))];
}
