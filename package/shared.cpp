// libtcc.so has no code of its own: it is tcc's static libraries, linked whole (CMakeLists.txt).
