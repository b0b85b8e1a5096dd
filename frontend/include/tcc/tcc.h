// The whole public API of tcc.
#pragma once
#include <tcc/dim.h>
#include <tcc/dtype.h>
#include <tcc/error.h>
#include <tcc/graph.h>
#include <tcc/npy.h>
#include <tcc/npz.h>
#include <tcc/tensor.h>
#include <tcc/threads.h>
