import Datasets
import Models
import Training

// The enums that flags take as values: help lists their raw values as the
// choices, the registry refuses other words, Tab offers them.

extension Split: ChoiceFlagValue {}
extension ParameterNaming: ChoiceFlagValue {}
extension GEMMMode: ChoiceFlagValue {}
extension ModelDType: ChoiceFlagValue {}
