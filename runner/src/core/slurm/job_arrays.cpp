#include "core/slurm/job_arrays.h"

#include <algorithm>
#include <map>

namespace tlr::slurm {

bool Resources::operator==(const Resources& o) const {
  return partition == o.partition && time == o.time && cpus_per_task == o.cpus_per_task &&
         gres == o.gres && mem == o.mem && sbatch_args == o.sbatch_args && grace == o.grace;
}

Resources with_section(Resources base, const nlohmann::json& section) {
  if (!section.is_object()) return base;
  base.partition = section.value("partition", base.partition);
  base.time = section.value("time", base.time);
  base.cpus_per_task = section.value("cpus_per_task", base.cpus_per_task);
  base.mem = section.value("mem", base.mem);
  base.gres = section.value("gres", base.gres);
  base.grace = section.value("grace", base.grace);
  base.sbatch_args = section.value("sbatch_args", base.sbatch_args);
  return base;
}

std::vector<JobArray> job_arrays(const config::Plan& plan, const std::vector<std::size_t>& pending,
                                 const std::vector<Resources>& resources_of) {
  std::vector<JobArray> arrays;
  std::map<std::size_t, TaskRef> placed;  // cell -> its task
  for (std::size_t cell : pending) {
    std::optional<TaskRef> waits_for;
    const std::size_t publisher = plan.models[cell].publisher;
    auto found = placed.find(publisher);
    if (found != placed.end()) waits_for = found->second;
    const Resources& resources = resources_of.at(cell);
    auto same_group = [&](const JobArray& array) {
      const bool same_wait = array.waits_for.has_value() == waits_for.has_value() &&
                             (!waits_for || (array.waits_for->array == waits_for->array &&
                                             array.waits_for->task == waits_for->task));
      return same_wait && array.resources == resources;
    };
    auto group = std::find_if(arrays.begin(), arrays.end(), same_group);
    if (group == arrays.end()) {
      arrays.push_back(JobArray{{}, waits_for, resources});
      group = arrays.end() - 1;
    }
    placed[cell] = TaskRef{static_cast<std::size_t>(group - arrays.begin()), group->cells.size()};
    group->cells.push_back(cell);
  }
  return arrays;
}

}  // namespace tlr::slurm
