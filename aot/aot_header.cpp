#include "aot/aot_header.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace tcc::aot {

namespace {

// Keywords of C (C99 to C23) and C++ (to C++20): no C name may be one.
const std::set<std::string>& c_keywords() {
  static const std::set<std::string> words{
      // C
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
      "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
      "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
      "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert",
      "_Thread_local", "alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert",
      "thread_local", "true", "typeof", "typeof_unqual", "_BitInt", "_Decimal32", "_Decimal64", "_Decimal128",
      // C++ (and its alternative tokens, macros of <iso646.h> in C)
      "asm", "catch", "char8_t", "char16_t", "char32_t", "class", "concept", "const_cast", "consteval", "constinit",
      "co_await", "co_return", "co_yield", "decltype", "delete", "dynamic_cast", "explicit", "export", "friend",
      "mutable", "namespace", "new", "noexcept", "operator", "private", "protected", "public", "reinterpret_cast",
      "requires", "static_cast", "template", "this", "throw", "try", "typeid", "typename", "using", "virtual",
      "wchar_t", "and", "and_eq", "bitand", "bitor", "compl", "not", "not_eq", "or", "or_eq", "xor", "xor_eq"};
  return words;
}

// Names a header included next to the standard C headers (and common POSIX ones) must not
// declare or use as a parameter: their functions, object-like macros and types, GCC's
// predefined macros, and the names the object itself links against. A parameter named after a
// function is harmless (a function-like macro needs a '('), but a function named after one is
// not, so one list serves both.
const std::set<std::string>& library_names() {
  static const std::set<std::string> names{
      // <stdio.h>
      "BUFSIZ", "EOF", "FILENAME_MAX", "FOPEN_MAX", "L_tmpnam", "SEEK_CUR", "SEEK_END", "SEEK_SET", "TMP_MAX",
      "FILE", "fpos_t", "stdin", "stdout", "stderr", "clearerr", "fclose", "feof", "ferror", "fflush", "fgetc",
      "fgetpos", "fgets", "fopen", "fprintf", "fputc", "fputs", "fread", "freopen", "fscanf", "fseek", "fsetpos",
      "ftell", "fwrite", "getc", "getchar", "gets", "perror", "printf", "putc", "putchar", "puts", "remove", "rename",
      "rewind", "scanf", "setbuf", "setvbuf", "snprintf", "sprintf", "sscanf", "tmpfile", "tmpnam", "ungetc",
      "vfprintf", "vfscanf", "vprintf", "vscanf", "vsnprintf", "vsprintf", "vsscanf", "fdopen", "fileno", "popen",
      "pclose", "getline", "getdelim", "dprintf",
      // <stdlib.h>
      "EXIT_FAILURE", "EXIT_SUCCESS", "MB_CUR_MAX", "RAND_MAX", "NULL", "div_t", "ldiv_t", "lldiv_t", "size_t",
      "abort", "abs", "aligned_alloc", "atexit", "at_quick_exit", "atof", "atoi", "atol", "atoll", "bsearch",
      "calloc", "div", "exit", "_Exit", "free", "getenv", "labs", "ldiv", "llabs", "lldiv", "malloc", "mblen",
      "mbstowcs", "mbtowc", "qsort", "quick_exit", "rand", "realloc", "srand", "strtod", "strtof", "strtol",
      "strtold", "strtoll", "strtoul", "strtoull", "system", "wcstombs", "wctomb", "random", "srandom",
      "posix_memalign", "setenv", "unsetenv", "putenv", "mkstemp", "realpath",
      // <string.h>, <strings.h>
      "memchr", "memcmp", "memcpy", "memmove", "memset", "strcat", "strchr", "strcmp", "strcoll", "strcpy",
      "strcspn", "strerror", "strlen", "strncat", "strncmp", "strncpy", "strpbrk", "strrchr", "strspn", "strstr",
      "strtok", "strxfrm", "strdup", "strndup", "strnlen", "index", "rindex", "bcopy", "bzero", "bcmp",
      "strcasecmp", "strncasecmp", "ffs",
      // <math.h> (C99 and the System V extras glibc declares by default)
      "HUGE_VAL", "HUGE_VALF", "HUGE_VALL", "INFINITY", "NAN", "FP_INFINITE", "FP_NAN", "FP_NORMAL",
      "FP_SUBNORMAL", "FP_ZERO", "MATH_ERRNO", "MATH_ERREXCEPT", "math_errhandling", "float_t", "double_t", "acos",
      "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "copysign", "cos", "cosh", "erf", "erfc",
      "exp", "exp2", "expm1", "fabs", "fdim", "floor", "fma", "fmax", "fmin", "fmod", "frexp", "hypot", "ilogb",
      "ldexp", "lgamma", "llrint", "llround", "log", "log10", "log1p", "log2", "logb", "lrint", "lround", "modf",
      "nan", "nearbyint", "nextafter", "nexttoward", "pow", "remainder", "remquo", "rint", "round", "scalbln",
      "scalbn", "sin", "sinh", "sqrt", "tan", "tanh", "tgamma", "trunc", "j0", "j1", "jn", "y0", "y1", "yn",
      "gamma", "drem", "finite", "significand", "signgam",
      // <ctype.h>, <wctype.h>
      "isalnum", "isalpha", "isblank", "iscntrl", "isdigit", "isgraph", "islower", "isprint", "ispunct", "isspace",
      "isupper", "isxdigit", "tolower", "toupper", "isascii", "toascii",
      // <time.h>, <signal.h>, <setjmp.h>, <stdarg.h>, <locale.h>, <errno.h>, <assert.h>
      "CLOCKS_PER_SEC", "TIME_UTC", "clock_t", "time_t", "asctime", "clock", "ctime", "difftime", "gmtime",
      "localtime", "mktime", "strftime", "time", "timespec_get", "timezone", "daylight", "tzname", "tzset",
      "SIGABRT", "SIGFPE", "SIGILL", "SIGINT", "SIGSEGV", "SIGTERM", "SIG_DFL", "SIG_ERR", "SIG_IGN",
      "sig_atomic_t", "raise", "signal", "kill", "jmp_buf", "longjmp", "setjmp", "va_list", "LC_ALL",
      "LC_COLLATE", "LC_CTYPE", "LC_MONETARY", "LC_NUMERIC", "LC_TIME", "localeconv", "setlocale", "errno", "EDOM",
      "EILSEQ", "ERANGE", "assert", "NDEBUG",
      // <stddef.h>, <stdint.h>, <limits.h>, <float.h>, <stdbool.h>, <complex.h>
      "ptrdiff_t", "max_align_t", "offsetof", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t",
      "uint32_t", "uint64_t", "intptr_t", "uintptr_t", "intmax_t", "uintmax_t", "INT8_MIN", "INT8_MAX",
      "UINT8_MAX", "INT16_MIN", "INT16_MAX", "UINT16_MAX", "INT32_MIN", "INT32_MAX", "UINT32_MAX", "INT64_MIN",
      "INT64_MAX", "UINT64_MAX", "INTPTR_MIN", "INTPTR_MAX", "UINTPTR_MAX", "INTMAX_MIN", "INTMAX_MAX",
      "UINTMAX_MAX", "PTRDIFF_MIN", "PTRDIFF_MAX", "SIZE_MAX", "SIG_ATOMIC_MIN", "SIG_ATOMIC_MAX", "WCHAR_MIN",
      "WCHAR_MAX", "WINT_MIN", "WINT_MAX", "CHAR_BIT", "CHAR_MIN", "CHAR_MAX", "SCHAR_MIN", "SCHAR_MAX",
      "UCHAR_MAX", "SHRT_MIN", "SHRT_MAX", "USHRT_MAX", "INT_MIN", "INT_MAX", "UINT_MAX", "LONG_MIN", "LONG_MAX",
      "ULONG_MAX", "LLONG_MIN", "LLONG_MAX", "ULLONG_MAX", "MB_LEN_MAX", "FLT_MAX", "FLT_MIN", "FLT_EPSILON",
      "DBL_MAX", "DBL_MIN", "DBL_EPSILON", "LDBL_MAX", "LDBL_MIN", "LDBL_EPSILON", "FLT_RADIX", "DECIMAL_DIG",
      "complex", "imaginary", "I", "_Complex_I", "_Imaginary_I",
      // <unistd.h>, <fcntl.h> and other common POSIX names
      "read", "write", "open", "close", "lseek", "unlink", "access", "sleep", "usleep", "fork", "pipe", "dup",
      "dup2", "getpid", "select", "poll", "link", "symlink", "sync", "optarg", "optind", "opterr", "optopt",
      "environ", "main",
      // GCC's predefined macros in its default (GNU) modes
      "linux", "unix", "i386",
      // What the object and its header use themselves
      "tcc_parallel_for", "pthread_create", "pthread_join", "pthread_t"};
  return names;
}

std::string c_type(DType t) { return std::string(dtype_info(t).c_type); }

}  // namespace

bool is_c_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return !c_keywords().count(name);
}

bool is_safe_c_name(const std::string& name) {
  // No leading underscore (reserved with an uppercase letter or a second underscore, and at file
  // scope), no double underscore (reserved anywhere in C++).
  return is_c_identifier(name) && name[0] != '_' && name.find("__") == std::string::npos && !library_names().count(name);
}

namespace {
// Only letters, digits and single underscores, with no leading underscore.
std::string plain_spelling(const std::string& text) {
  std::string s;
  for (char c : text) {
    const char k = (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
    if (k == '_' && (s.empty() || s.back() == '_')) continue;
    s += k;
  }
  return s;
}
}  // namespace

std::string safe_function_name(const std::string& text) {
  const std::string s = plain_spelling(text);
  return is_safe_c_name(s) ? s : "tcc_" + s;
}

std::string safe_parameter_name(const std::string& name) {
  if (is_safe_c_name(name)) return name;
  std::string s = plain_spelling(name);
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "p_" + s;
  if (!is_safe_c_name(s)) s += s.back() == '_' ? "p" : "_";
  return s;
}

std::vector<std::string> aot_parameter_names(const AotSignature& s) {
  std::set<std::string> used{s.function};
  std::vector<std::string> names;
  auto take = [&](const std::string& name) {
    const std::string base = safe_parameter_name(name);
    std::string n = base;
    for (int i = 1; used.count(n); ++i) n = fmt::format("{}{}{}", base, base.back() == '_' ? "" : "_", i);
    used.insert(n);
    names.push_back(n);
  };
  for (const std::string& symbol : s.symbols) take(symbol);
  for (const InputInfo& in : s.inputs) take(in.name);
  for (const InputInfo& out : s.outputs) take(out.name);
  return names;
}

namespace {
// The return code 2 of an object whose entry point checks the CPU (compile --target-cpu).
std::string cpu_check_doc(const AotSignature& s) {
  if (s.features.empty()) return "";
  std::string doc = ", or 2 (computing nothing)\n * when this CPU lacks an instruction set it was compiled for (" + s.cpu + ":";
  std::size_t width = doc.size() - doc.rfind('\n');
  for (const std::string& f : s.features) {
    if (width + f.size() + 1 > 96) {
      doc += "\n *";
      width = 2;
    }
    doc += " " + f;
    width += f.size() + 1;
  }
  return doc + ")";
}
}  // namespace

std::string aot_header(const AotSignature& s) {
  std::vector<std::string> names = aot_parameter_names(s);
  std::vector<std::string> params;
  std::string symbols_doc, inputs_doc, outputs_doc;
  // A shape in terms of the symbols' parameter names.
  auto shape_doc = [&](const Shape& shape) {
    std::string text;
    for (int64_t e : shape) {
      std::string d = std::to_string(e);
      if (is_symbol(e)) d = names[std::find(s.symbols.begin(), s.symbols.end(), symbol_name(e)) - s.symbols.begin()];
      text += (text.empty() ? "" : ",") + d;
    }
    return text;
  };
  const size_t first_input = s.symbols.size(), first_output = first_input + s.inputs.size();
  for (size_t i = 0; i < s.symbols.size(); ++i) {
    params.push_back(fmt::format("int64_t {}", names[i]));
    symbols_doc += fmt::format("{}{}", i ? ", " : "", names[i]);
  }
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const std::string& n = names[first_input + i];
    params.push_back(fmt::format("const {}* {}", c_type(s.inputs[i].dtype), n));
    inputs_doc += fmt::format(" *     {}: {}[{}]\n", n, dtype_name(s.inputs[i].dtype), shape_doc(s.inputs[i].shape));
  }
  for (size_t o = 0; o < s.outputs.size(); ++o) {
    const std::string& n = names[first_output + o];
    params.push_back(fmt::format("{}* {}", c_type(s.outputs[o].dtype), n));
    outputs_doc += fmt::format(" *     {}: {}[{}]\n", n, dtype_name(s.outputs[o].dtype), shape_doc(s.outputs[o].shape));
  }
  if (!symbols_doc.empty())
    symbols_doc = fmt::format(" *   sizes (the symbolic dimensions, first): {}; any value >= 0 (3 is returned for a\n"
                              " *   negative one, or for sizes the graph's shape rules require equal that differ)\n",
                              symbols_doc);
  std::string threading =
      s.threads == 0
          ? ""
          : fmt::format(R"(/* The object runs large loops through tcc_parallel_for. Define it in exactly one C file:
 *   #define TCC_PARALLEL_FOR_IMPLEMENTATION
 *   #include "this header"
 * and link with -pthread. It uses {} threads, or TCC_NUM_THREADS when set; results do not
 * depend on the count. Several tcc headers may be included there: the first one defines it
 * for all. */
int tcc_parallel_for(int (*task)(void* closure, int64_t i), void* closure, int64_t n);

#if defined(TCC_PARALLEL_FOR_IMPLEMENTATION) && !defined(TCC_PARALLEL_FOR_DEFINED)
#define TCC_PARALLEL_FOR_DEFINED
#include <pthread.h>
#include <stdlib.h>

struct tcc_parallel_range {{
  int (*task)(void*, int64_t);
  void* closure;
  int64_t begin, end;
  int result;
}};

static void* tcc_parallel_run(void* p) {{
  struct tcc_parallel_range* r = (struct tcc_parallel_range*)p;
  for (int64_t i = r->begin; i < r->end && r->result == 0; ++i) r->result = r->task(r->closure, i);
  return 0;
}}

int tcc_parallel_for(int (*task)(void* closure, int64_t i), void* closure, int64_t n) {{
  struct tcc_parallel_range ranges[64];
  pthread_t ids[64];
  int started[64] = {{0}};
  int threads = {};
  const char* env = getenv("TCC_NUM_THREADS");
  if (env && atoi(env) > 0) threads = atoi(env);
  if (threads > 64) threads = 64;
  if (threads > n) threads = (int)n;
  if (threads < 1) threads = 1;
  for (int t = 0; t < threads; ++t) {{
    ranges[t].task = task, ranges[t].closure = closure, ranges[t].result = 0;
    ranges[t].begin = n * t / threads, ranges[t].end = n * (t + 1) / threads;
  }}
  for (int t = 1; t < threads; ++t) started[t] = pthread_create(&ids[t], 0, tcc_parallel_run, &ranges[t]) == 0;
  tcc_parallel_run(&ranges[0]);
  for (int t = 1; t < threads; ++t) {{
    if (started[t]) pthread_join(ids[t], 0);
    else tcc_parallel_run(&ranges[t]);  /* no thread: run its share here */
  }}
  for (int t = 0; t < threads; ++t)
    if (ranges[t].result) return ranges[t].result;
  return 0;
}}
#endif

)",
                        s.threads, s.threads);
  std::string guard = "TCC_" + s.function + "_H";
  std::transform(guard.begin(), guard.end(), guard.begin(), [](unsigned char c) { return std::toupper(c); });
  return fmt::format(
      "/* Generated by tcc {} from {} for CPU {} ({}).\n"
      " *\n"
      " * int {}(...) computes the graph's outputs from its inputs. Every buffer is dense, C order\n"
      " * (row-major), of the dtype and shape listed; buffers must not overlap. It returns 0, or 1\n"
      " * when memory for intermediates could not be allocated{}. {}; it needs only\n"
      " * libc (aligned_alloc, free, memcpy, memset) to link and run: no LLVM, no tcc library.\n"
      " *\n"
      "{} *   inputs (read):\n{} *   outputs (written):\n{} */\n"
      "#ifndef {}\n#define {}\n\n#include <stdint.h>\n\n"
      "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
      "int {}({});\n\n{}"
      "#ifdef __cplusplus\n}}\n#endif\n\n#endif\n",
      TCC_VERSION, s.source, s.cpu, s.triple, s.function, cpu_check_doc(s),
      s.threads == 0 ? "Single-threaded" : "Multi-threaded through tcc_parallel_for (below; pthreads)", symbols_doc,
      inputs_doc.empty() ? " *     (none)\n" : inputs_doc, outputs_doc, guard, guard, s.function,
      params.empty() ? "void" : fmt::format("{}", fmt::join(params, ", ")), threading);
}

}  // namespace tcc::aot
