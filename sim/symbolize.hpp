// Code addresses as source lines, for the rare report that names where in
// the engine something happened (a data race's two accesses).
#pragma once

#include <string>
#include <vector>

namespace lazywq::sim {

// For each return address, " at FILE:LINE (in FUNCTION)": the innermost
// inlined frame in the engine's headers when the build has line tables,
// else the innermost frame, else the function from the symbol table, else
// the address within its module. Runs llvm-symbolizer (llvm-14) once.
std::vector<std::string> describe_code_sites(const std::vector<const void*>& pcs);

}  // namespace lazywq::sim
